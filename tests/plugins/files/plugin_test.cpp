#include "fixtures.hpp"

#include <set>

using namespace files_test;

namespace {
// Every object schema closes its properties and describes each one (they become the docs).
void check_schema(const json& schema, const std::string& where) {
  if (schema.value("type", "") == "object") {
    INFO(where);
    CHECK(schema.value("additionalProperties", true) == false);
    const json props = schema.value("properties", json::object());
    for (const auto& item : props.items()) {
      // Not a structured binding: clang cannot capture one in the lambda INFO/CAPTURE make.
      const std::string name = item.key();
      const auto& prop = item.value();
      INFO((where + "." + name));
      CHECK(prop.contains("description"));
      CHECK_FALSE(prop.value("description", "").empty());
      check_schema(prop, where + "." + name);
    }
  }
  if (schema.contains("items")) check_schema(schema["items"], where + "[]");
  for (const char* key : {"anyOf", "oneOf"})
    if (schema.contains(key))
      for (const auto& s : schema[key]) check_schema(s, where + "|");
}
}  // namespace

TEST_CASE("files plugin describes its six check types with closed, documented schemas") {
  backup_doctor::files::FilesPlugin plugin;
  json d = json::parse(plugin.describe_json());
  CHECK(d["name"] == "files");
  std::set<std::string> types;
  for (const auto& c : d["checks"]) {
    types.insert(c["type"].get<std::string>());
    CHECK_FALSE(c["summary"].get<std::string>().empty());
    CHECK(c["doc"].get<std::string>().size() > 100);
    check_schema(c["params"], c["type"].get<std::string>());
  }
  CHECK(types == std::set<std::string>{"files.exists", "files.mode", "files.access",
                                       "files.freshness", "files.log_scan", "files.tools"});
  // Duration parameters carry the SDK's pattern, not the placeholder.
  for (const auto& c : d["checks"])
    CHECK(c["params"].dump().find("@duration@") == std::string::npos);
}

TEST_CASE("a missing required parameter is an error naming it, not a crash") {
  backup_doctor::files::FilesPlugin plugin;
  auto r = backup_doctor::testing::run_check(plugin, "files.exists", json::object());
  CHECK(r.rc == BD_RC_ERROR);
  CHECK(contains(r.error, "'path'"));
  auto bad = backup_doctor::testing::run_check(plugin, "files.freshness",
                                               {{"path", "/tmp"}, {"max_age", "soon"}});
  CHECK(bad.rc == BD_RC_ERROR);
  CHECK(contains(bad.error, "not a duration"));
  auto unknown = backup_doctor::testing::run_check(plugin, "files.nope", json::object());
  CHECK(unknown.rc == BD_RC_UNKNOWN_CHECK);
}
