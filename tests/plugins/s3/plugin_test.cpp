#include "s3_plugin.hpp"

#include <doctest/doctest.h>

TEST_CASE("s3 plugin: describes its eight check types with strict, documented schemas") {
  backup_doctor::s3::S3Plugin plugin;
  auto d = nlohmann::json::parse(plugin.describe_json());
  CHECK(d["name"] == "s3");
  std::vector<std::string> types;
  for (const auto& c : d["checks"]) {
    types.push_back(c["type"]);
    const auto& schema = c["params"];
    CHECK(schema["type"] == "object");
    CHECK(schema["additionalProperties"] == false);
    for (const auto& item : schema["properties"].items()) {
      // Not a structured binding: clang cannot capture one in the lambda INFO/CAPTURE make.
      const std::string name = item.key();
      const auto& prop = item.value();
      INFO(c["type"].get<std::string>() << "." << name);
      CHECK(prop.contains("description"));
    }
    CHECK_FALSE(c["doc"].get<std::string>().empty());
  }
  CHECK(types == std::vector<std::string>{"s3.reachable", "s3.auth", "s3.permissions",
                                          "s3.multipart_leftovers", "s3.object_matches", "s3.usage",
                                          "s3.redundancy", "s3.freshness"});
}
