#include "rsync_plugin.hpp"

#include <doctest/doctest.h>

using backup_doctor::rsync::RsyncPlugin;
using nlohmann::json;

TEST_CASE("the plugin describes its four checks with complete parameter schemas") {
  RsyncPlugin plugin;
  json d = json::parse(plugin.describe_json());
  CHECK(d["name"] == "rsync");
  std::vector<std::string> types;
  for (const auto& c : d["checks"]) {
    types.push_back(c["type"]);
    CAPTURE(c["type"]);
    CHECK(c["summary"].get<std::string>().size() > 10);
    CHECK(c["doc"].get<std::string>().size() > 100);
    const json& s = c["params"];
    CHECK(s["type"] == "object");
    CHECK(s["additionalProperties"] == false);
    REQUIRE(s["required"].is_array());
    for (const auto& item : s["properties"].items()) {
      // Not a structured binding: clang cannot capture one in the lambda INFO/CAPTURE make.
      const std::string name = item.key();
      const auto& prop = item.value();
      CAPTURE(name);
      CHECK(prop.contains("description"));
      if (prop.contains("default")) {
        CHECK(prop["description"].get<std::string>().find("Default") != std::string::npos);
      }
    }
  }
  CHECK(types == std::vector<std::string>{"rsync.paths", "rsync.dry_run", "rsync.remote",
                                          "rsync.open_files"});
  // Durations carry the shared pattern.
  CHECK(d["checks"][1]["params"]["properties"]["timeout"]["pattern"] ==
        backup_doctor::kDurationPattern);
}
