// The pg checks through the real backup-doctor binary: a checklist with secrets and `needs`,
// the JSON report, the exit code, and no password anywhere in what the binary prints.
#include "fixtures.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <map>

using namespace backup_doctor::test::pg;

TEST_CASE("backup-doctor run with pg checks, end to end") {
  PgServer& s = main_server();
  const Dumps& d = dumps();
  backup_doctor::test::TempDir tmp("bd-pg-e2e");
  auto secret = [](const char* env) { return nlohmann::json{{"secret", {{"env", env}}}}; };
  auto conn = [&](const std::string& user, const char* env, int port) {
    return nlohmann::json{{"host", "127.0.0.1"},     {"port", std::to_string(port)},
                          {"dbname", "trixtech"},    {"user", user},
                          {"password", secret(env)}, {"connect_timeout", "3s"}};
  };
  nlohmann::json checklist = {
      {"version", 1},
      {"name", "pg e2e"},
      {"vars", {{"db_port", std::to_string(s.port())}}},
      {"checks",
       {{{"id", "connect"}, {"use", "pg.connect"}, {"with", conn(kPartial, "PG_E2E_PW", s.port())}},
        {{"id", "privileges"},
         {"use", "pg.privileges"},
         {"with", conn(kPartial, "PG_E2E_PW", s.port())},
         {"needs", {"connect"}}},
        {{"id", "role"},
         {"use", "pg.role"},
         {"with", conn(kExpiring, "PG_E2E_PW2", s.port())},
         {"severity", "warning"}},
        {{"id", "dump"},
         {"use", "pg.dump_verify"},
         {"with", {{"path", d.custom.string()}, {"expect_tables", {"users"}}}}},
        {{"id", "down"}, {"use", "pg.connect"}, {"with", conn(kPartial, "PG_E2E_PW", free_port())}},
        {{"id", "down-privileges"},
         {"use", "pg.privileges"},
         {"with", conn(kPartial, "PG_E2E_PW", free_port())},
         {"needs", {"down"}}}}}};
  // The port of "connect" comes through ${db_port} interpolation.
  checklist["checks"][0]["with"]["port"] = "${db_port}";
  auto file = tmp.write("checklist.json", checklist.dump(2));

  backup_doctor::support::ProcessOptions o;
  o.env = {{"PG_E2E_PW", kPartialPw}, {"PG_E2E_PW2", kExpiringPw}};
  o.timeout = std::chrono::seconds(120);
  auto r = backup_doctor::support::run_process(
      {BD_TEST_BIN, "run", file.string(), "--format", "json"}, o);
  INFO(r.err);
  CHECK(r.exit_code == 2);  // failures
  CHECK(r.out.find(kPartialPw) == std::string::npos);
  CHECK(r.err.find(kPartialPw) == std::string::npos);
  CHECK(r.out.find(kExpiringPw) == std::string::npos);
  auto report = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& res : report["results"]) by_id[res["id"].get<std::string>()] = res;

  CHECK(by_id["connect"]["status"] == "ok");
  CHECK(by_id["privileges"]["status"] == "fail");
  CHECK(by_id["privileges"]["remediation"].get<std::string>().find(
            "GRANT USAGE ON SCHEMA booking TO backup_partial;") != std::string::npos);
  CHECK(by_id["role"]["status"] == "warn");
  bool has_expiry_metric = false;
  for (const auto& m : by_id["role"]["metrics"])
    has_expiry_metric = has_expiry_metric || m["name"] == "pg_role_password_days_until_expiry";
  CHECK(has_expiry_metric);
  CHECK(by_id["dump"]["status"] == "ok");
  CHECK(by_id["down"]["status"] == "fail");
  CHECK(by_id["down"]["details"]["failure_kind"] == "connection_refused");
  CHECK(by_id["down-privileges"]["status"] == "skipped");
  CHECK(by_id["down-privileges"]["details"]["blocked_by"].dump().find("down") != std::string::npos);
}
