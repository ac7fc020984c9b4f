// The resources checks through the real CLI on the live host: plugin loading, schema
// validation of every parameter, sampling inside the check's child process, the JSON report.
#include <backup_doctor/support/process.hpp>
#include "fixtures.hpp"

#include <doctest/doctest.h>

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

bool has_metric(const nlohmann::json& r, const std::string& name, const std::string& unit) {
  for (const auto& m : r["metrics"])
    if (m["name"] == name && m["unit"] == unit) return true;
  return false;
}
}  // namespace

TEST_CASE("resources checks end to end through backup-doctor run on the live host") {
  backup_doctor::test::TempDir t;
  t.write("backups/database/trixtech_1.sql.gz", std::string(2048, 'x'));
  std::string backups = (t.path() / "backups").string();
  // Thresholds are moved out of the way: this asserts the plumbing, not the host's load.
  nlohmann::json checklist = {{"version", 1},
                              {"name", "resources e2e"},
                              {"vars", {{"backup_dir", backups}}},
                              {"checks",
                               {{{"id", "disk"},
                                 {"use", "resources.disk"},
                                 {"with",
                                  {{"path", "${backup_dir}"},
                                   {"backup_glob", "${backup_dir}/database/*.sql.gz"},
                                   {"growth_margin", 1.5},
                                   {"warn_free_percent", 0},
                                   {"fail_free_percent", 0},
                                   {"min_free", "1K"},
                                   {"warn_free_inodes_percent", 0},
                                   {"fail_free_inodes_percent", 0},
                                   {"max_scan_entries", 1000}}}},
                                {{"id", "memory"},
                                 {"use", "resources.memory"},
                                 {"with",
                                  {{"warn_available_percent", 0},
                                   {"fail_available_percent", 0},
                                   {"min_available", 1},
                                   {"warn_swap_used_percent", 100},
                                   {"pressure_window", "avg300"},
                                   {"warn_pressure", 100},
                                   {"fail_pressure", 100},
                                   {"require_pressure", false},
                                   {"proc_root", "/proc"}}}},
                                {{"id", "cpu"},
                                 {"use", "resources.cpu"},
                                 {"with",
                                  {{"load_window", "15m"},
                                   {"warn_load_per_core", 1000000},
                                   {"fail_load_per_core", 1000000},
                                   {"warn_pressure", 100},
                                   {"fail_pressure", 100},
                                   {"require_pressure", false}}}},
                                {{"id", "io"},
                                 {"use", "resources.io"},
                                 {"with",
                                  {{"path", "${backup_dir}"},
                                   {"sample", "300ms"},
                                   {"warn_util_percent", 100},
                                   {"warn_await_ms", 1000000},
                                   {"fail_await_ms", 1000000},
                                   {"warn_pressure", 100},
                                   {"fail_pressure", 100},
                                   {"require_pressure", false},
                                   {"sys_root", "/sys"}}}},
                                {{"id", "procs"},
                                 {"use", "resources.backup_process"},
                                 {"with",
                                  {{"names", {"bd-no-such-backup-*"}},
                                   {"sample", "100ms"},
                                   {"max_runtime", "6h"},
                                   {"require_idle_io", true},
                                   {"max_items", 5}}}}}}};
  t.write("checklist.json", checklist.dump(2));
  auto report = run_cli(t.path() / "checklist.json");

  auto disk = result(report, "disk");
  CHECK(disk["status"] == "ok");
  CHECK(disk["details"]["newest_backup"]["size_bytes"] == 2048);
  CHECK(has_metric(disk, "disk_free", "bytes"));
  CHECK(has_metric(disk, "next_backup_estimate", "bytes"));
  auto memory = result(report, "memory");
  CHECK(memory["status"] == "ok");
  CHECK(has_metric(memory, "memory_available", "percent"));
  auto cpu = result(report, "cpu");
  CHECK(cpu["status"] == "ok");
  CHECK(has_metric(cpu, "load_per_core", ""));
  auto io = result(report, "io");
  CHECK((io["status"] == "ok" || io["status"] == "skipped"));
  auto procs = result(report, "procs");
  CHECK(procs["status"] == "ok");
  CHECK(procs["details"]["count"] == 0);
}
