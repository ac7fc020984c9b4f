// The selinux checks through the real CLI: plugin loading, schema validation of every
// parameter used here, the child process, and the JSON report.
#include <backup_doctor/support/process.hpp>
#include "fixtures.hpp"

#include <doctest/doctest.h>

using backup_doctor::selinux::test::avc;
using backup_doctor::selinux::test::FakeSelinux;

namespace {
nlohmann::json run_cli(const std::filesystem::path& checklist) {
  auto r = backup_doctor::support::run_process(
      {BD_TEST_BIN, "run", checklist.string(), "--format", "json"});
  INFO("stderr: " << r.err);
  REQUIRE(r.started);
  REQUIRE_FALSE(r.out.empty());
  return nlohmann::json::parse(r.out);
}

nlohmann::json result(const nlohmann::json& report, const std::string& id) {
  for (const auto& r : report["results"])
    if (r["id"] == id) return r;
  FAIL("no result " << id);
  return nullptr;
}
}  // namespace

TEST_CASE("selinux checks end to end through backup-doctor run") {
  FakeSelinux f;
  f.enable(0);
  f.write_config("enforcing");
  f.dir.write("audit/audit.log", avc(600, 1, "write", "pg_dump", "name=\"database\"",
                                     "system_u:system_r:postgresql_t:s0",
                                     "unconfined_u:object_r:default_t:s0", "dir") +
                                     "junk line\n");
  nlohmann::json checklist = {
      {"version", 1},
      {"name", "selinux e2e"},
      {"vars", {{"selinuxfs", f.selinuxfs()}}},
      {"checks",
       {{{"id", "status"},
         {"use", "selinux.status"},
         {"with",
          {{"selinuxfs_root", "${selinuxfs}"}, {"config", f.config()}, {"expect_mode", "any"}}}},
        {{"id", "live-status"}, {"use", "selinux.status"}, {"with", nlohmann::json::object()}},
        {{"id", "labels"},
         {"use", "selinux.contexts"},
         {"needs", {"live-status"}},
         {"with", {{"paths", {f.dir.path().string()}}, {"recursive", true}}}},
        {{"id", "denials"},
         {"use", "selinux.denials"},
         {"with",
          {{"audit_log", (f.dir.path() / "audit/audit.log").string()},
           {"since", "1h"},
           {"programs", {"pg_dump"}},
           {"paths", {"/opt/backups"}},
           {"include_rotated", true},
           {"max_items", 10},
           {"max_rotated", 3},
           {"selinuxfs_root", "${selinuxfs}"}}}}}}};
  f.dir.write("checklist.json", checklist.dump(2));
  auto report = run_cli(f.dir.path() / "checklist.json");

  auto status = result(report, "status");
  CHECK(status["status"] == "warn");
  CHECK(status["summary"].get<std::string>().find("permissive now but") != std::string::npos);
  CHECK(result(report, "live-status")["status"] == "skipped");  // no SELinux on this host
  CHECK(result(report, "labels")["status"] == "skipped");
  auto denials = result(report, "denials");
  CHECK(denials["status"] == "fail");
  CHECK(denials["details"]["denials"] == 1);
  CHECK(denials["details"]["malformed_lines"] == 1);
  CHECK(denials["remediation"].get<std::string>().find("allow postgresql_t default_t:dir write;") !=
        std::string::npos);
  bool has_metric = false;
  for (const auto& m : denials["metrics"])
    if (m["name"] == "selinux_denials" && m["value"] == 1 && m["unit"] == "count")
      has_metric = true;
  CHECK(has_metric);
}
