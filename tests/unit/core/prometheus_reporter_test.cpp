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
