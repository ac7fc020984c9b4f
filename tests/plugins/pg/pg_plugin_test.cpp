#include "pg_plugin.hpp"

#include <backup_doctor/testing.hpp>

#include <set>

#include <doctest/doctest.h>

namespace {

// Every property documented, no unknown keys accepted, at any depth.
void check_schema(const nlohmann::json& schema, const std::string& where) {
  CAPTURE(where);
  if (schema.value("type", nlohmann::json()) == "object" && schema.contains("properties")) {
    CHECK(schema.value("additionalProperties", true) == false);
    for (const auto& item : schema["properties"].items()) {
      // Not a structured binding: clang cannot capture one in the lambda INFO/CAPTURE make.
      const std::string name = item.key();
      const auto& prop = item.value();
      CAPTURE(name);
      CHECK(prop.contains("description"));
      check_schema(prop, where + "." + name);
    }
  }
  if (schema.contains("items")) check_schema(schema["items"], where + "[]");
}

}  // namespace

TEST_CASE("the pg plugin describes eight check types with complete schemas") {
  backup_doctor::pg::PgPlugin plugin;
  auto described = nlohmann::json::parse(plugin.describe_json());
  CHECK(described["name"] == "pg");
  std::set<std::string> types;
  for (const auto& c : plugin.checks()) {
    types.insert(c.type);
    CHECK(!c.summary.empty());
    CHECK(c.doc.size() > 100);
    CHECK(c.params_schema["type"] == "object");
    check_schema(c.params_schema, c.type);
  }
  CHECK(types == std::set<std::string>{"pg.connect", "pg.connection_headroom", "pg.role",
                                       "pg.privileges", "pg.dump_compat", "pg.extensions",
                                       "pg.wal_archiving", "pg.dump_verify"});
  // dump_verify needs a path; the connection checks need nothing (libpq defaults apply).
  CHECK(plugin.find("pg.dump_verify")->params_schema["required"] ==
        nlohmann::json::array({"path"}));
  CHECK(!plugin.find("pg.connect")->params_schema.contains("required"));
}

TEST_CASE("nonsense parameters end in an error result, not a crash") {
  backup_doctor::pg::PgPlugin plugin;
  auto r = backup_doctor::testing::run_check(plugin, "pg.connect", {{"connect_timeout", "soon"}});
  CHECK(r.status == backup_doctor::sdk::Status::error);
  CHECK(r.summary.find("connect_timeout") != std::string::npos);
}
