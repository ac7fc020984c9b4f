#include "reporters/reporter.hpp"
#include "sample_report.hpp"
#include "support/temp_dir.hpp"

#include <backup_doctor/support/process.hpp>

#include <doctest/doctest.h>
#include <fstream>

using namespace backup_doctor;

TEST_CASE("Prometheus output passes promtool check metrics") {
  support::ProcessOptions o;
  o.stdin_data = render_prometheus(test::sample_report());
  auto r = support::run_process({"promtool", "check", "metrics"}, o);
  INFO(o.stdin_data);
  INFO(r.out, r.err);
  REQUIRE(r.started);
  CHECK(r.exit_code == 0);
}

TEST_CASE("Prometheus output has per-check status and duration, run timestamp and check metrics") {
  auto text = render_prometheus(test::sample_report());
  CHECK(text.find("backup_doctor_check_status{checklist=\"nightly <prod> & "
                  "\\\"co\\\"\",check=\"db-fresh\",type=\"files.freshness\",severity=\"critical\","
                  "status=\"fail\"} 1") != std::string::npos);
  CHECK(text.find("status=\"ok\"} 0") != std::string::npos);
  CHECK(text.find("backup_doctor_check_duration_seconds{") != std::string::npos);
  CHECK(text.find("backup_doctor_last_run_timestamp_seconds{") != std::string::npos);
  // The guide's "backup too old" alert: (time() - backup_doctor_newest_backup_timestamp_seconds) /
  // 3600 > 25
  CHECK(text.find("backup_doctor_newest_backup_timestamp_seconds{checklist=\"nightly <prod> & "
                  "\\\"co\\\"\",check=\"db-fresh\",path=\"/opt/backups/database\"} 1699740000") !=
        std::string::npos);
  CHECK(text.find("backup_doctor_free_percent{") != std::string::npos);
  CHECK(text.find("# TYPE backup_doctor_check_status gauge") != std::string::npos);
}

TEST_CASE("a promtool run on broken output fails, so the check above can fail") {
  support::ProcessOptions o;
  o.stdin_data = "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\nbad metric line\n";
  auto r = support::run_process({"promtool", "check", "metrics"}, o);
  CHECK(r.exit_code != 0);
}

TEST_CASE("report files are replaced atomically") {
  test::TempDir dir;
  auto file = dir / "backup.prom";
  CHECK(write_file_atomically(file, "a 1\n").empty());
  CHECK(write_file_atomically(file, "a 2\n").empty());
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  CHECK(content == "a 2\n");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) ==
        1);  // no temp file left
  CHECK(write_file_atomically(dir / "missing-dir/x.prom", "a")
            .find("cannot create a temporary file") == 0);
}

namespace {

CheckResult result_in(std::string id, std::string group, Status s,
                      Severity severity = Severity::critical) {
  CheckResult r;
  r.id = std::move(id);
  r.type = "files.freshness";
  r.group = std::move(group);
  r.status = s;
  r.severity = severity;
  return r;
}

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("the guide's backup_status and backup_last_success_timestamp, per backup set") {
  RunReport report;
  report.checklist_name = "nightly";
  report.started_at = std::chrono::system_clock::from_time_t(1'700'000'000);
  report.duration = std::chrono::seconds(2);
  // db-backup: fresh local dump, three-day-old offsite copy, one check failing.
  report.results.push_back(result_in("db-local", "db-backup", Status::ok));
  report.results.back().metrics.push_back(
      {"newest_backup_timestamp", 1'699'990'000, "seconds", {{"path", "/a"}}});
  report.results.push_back(result_in("db-offsite", "db-backup", Status::fail));
  report.results.back().metrics.push_back(
      {"newest_backup_timestamp", 1'699'740'000, "seconds", {{"path", "/b"}}});
  // files: all ok, no freshness metric: the run's end is its last success.
  report.results.push_back(result_in("files-dir", "files", Status::ok));
  report.results.push_back(result_in("files-skip", "files", Status::skipped));
  // logs: a warning-severity check failing only warns.
  report.results.push_back(result_in("logs", "logs", Status::fail, Severity::warning));
  // wal: an error, no success known.
  report.results.push_back(result_in("wal", "wal", Status::error));
  // an info check's failure does not fail its set.
  report.results.push_back(result_in("info", "info", Status::fail, Severity::info));
  auto text = render_prometheus(report);
  INFO(text);
  const std::string c = "checklist=\"nightly\",";
  CHECK(has(text, "backup_status{" + c + "job=\"db-backup\",status=\"failed\"} 1"));
  CHECK(has(text, "backup_status{" + c + "job=\"db-backup\",status=\"ok\"} 0"));
  CHECK(has(text, "backup_last_success_timestamp{" + c + "job=\"db-backup\"} 1699740000"));
  CHECK(has(text, "backup_status{" + c + "job=\"files\",status=\"ok\"} 1"));
  CHECK(has(text, "backup_last_success_timestamp{" + c + "job=\"files\"} 1700000002"));
  CHECK(has(text, "backup_status{" + c + "job=\"logs\",status=\"warn\"} 1"));
  CHECK(has(text, "backup_status{" + c + "job=\"logs\",status=\"failed\"} 0"));
  CHECK(has(text, "backup_last_success_timestamp{" + c + "job=\"logs\"} NaN"));
  CHECK(has(text, "backup_status{" + c + "job=\"wal\",status=\"failed\"} 1"));
  CHECK(has(text, "backup_last_success_timestamp{" + c + "job=\"wal\"} NaN"));
  CHECK(has(text, "backup_status{" + c + "job=\"info\",status=\"ok\"} 1"));
  CHECK(text.find("# TYPE backup_status gauge") != std::string::npos);
  CHECK(text.find("backup_doctor_plugin_refused") == std::string::npos);
}

TEST_CASE("refused plugins are one backup_doctor_plugin_refused sample each, and pass promtool") {
  RenderOptions options;
  options.refused_plugins = {
      {"/usr/lib/backup-doctor/plugins/backup-doctor-pg.so", "refused: writable by others"}};
  auto text = render_prometheus(test::sample_report(), options);
  INFO(text);
  CHECK(text.find("backup_doctor_plugin_refused{checklist=\"nightly <prod> & \\\"co\\\"\","
                  "file=\"/usr/lib/backup-doctor/plugins/backup-doctor-pg.so\","
                  "reason=\"refused: writable by others\"} 1\n") != std::string::npos);
  CHECK(render(Format::prometheus, test::sample_report(), options) == text);
  support::ProcessOptions o;
  o.stdin_data = text;
  auto r = support::run_process({"promtool", "check", "metrics"}, o);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
}
