// A run report with one result of each status, shared by the reporter tests.
#pragma once

#include "result.hpp"

namespace backup_doctor::test {

inline RunReport sample_report() {
  RunReport report;
  report.checklist_name = "nightly <prod> & \"co\"";
  report.checklist_file = "/etc/backup-doctor/nightly.json";
  report.profile = "production";
  report.started_at = std::chrono::system_clock::from_time_t(1'700'000'000);
  report.duration = std::chrono::milliseconds(1234);
  auto add = [&](std::string id, Status s, std::string summary, std::string remediation) {
    CheckResult r;
    r.id = std::move(id);
    r.type = "files.freshness";
    r.plugin = "files";
    r.status = s;
    r.summary = std::move(summary);
    r.remediation = std::move(remediation);
    r.started_at = report.started_at;
    r.duration = std::chrono::milliseconds(12);
    report.results.push_back(r);
  };
  add("db-fresh", Status::fail, "newest *.sql.gz is 3d old (limit 25h)",
      "Find out why the nightly dump stopped:\nlook at /var/log/backup/db_backup.log");
  report.results.back().metrics.push_back(
      {"newest_backup_timestamp", 1'699'740'000, "seconds", {{"path", "/opt/backups/database"}}});
  report.results.back().details = {{"age_seconds", 259200}};
  add("logs", Status::warn, "2 error lines in db_backup.log", "Read lines 10 and 12 | then fix");
  add("tools", Status::error, "the check crashed", "Report it to the plugin authors.");
  add("grants", Status::skipped, "skipped: it needs 'connect', which ended with status fail", "");
  add("dir", Status::ok, "/opt/backups exists", "");
  report.results.back().metrics.push_back({"free", 12.5, "percent", nlohmann::json::object()});
  return report;
}

}  // namespace backup_doctor::test
