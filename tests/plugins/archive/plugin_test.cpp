// The plugin's self-description: every check type, a valid schema for each, every parameter
// documented.
#include "archive_plugin.hpp"

#include <doctest/doctest.h>

TEST_CASE("describe lists the four check types with documented schemas") {
  backup_doctor::archive::ArchivePlugin plugin;
  auto d = nlohmann::json::parse(plugin.describe_json());
  CHECK(d["name"] == "archive");
  std::vector<std::string> types;
  for (const auto& c : d["checks"]) {
    types.push_back(c["type"]);
    CAPTURE(c["type"]);
    CHECK(!c["summary"].get<std::string>().empty());
    CHECK(c["doc"].get<std::string>().size() > 100);
    const auto& schema = c["params"];
    CHECK(schema["type"] == "object");
    CHECK(schema["additionalProperties"] == false);
    CHECK(schema.contains("required"));
    for (const auto& property : schema["properties"].items()) {
      const std::string name = property.key();  // not a structured binding: CAPTURE captures it
      CAPTURE(name);
      CHECK(property.value().contains("description"));
    }
  }
  CHECK(types == std::vector<std::string>{"archive.verify", "archive.compare_source",
                                          "archive.restore_space", "archive.leftovers"});
}
