// The JSON report, version 1 (documented in docs/report.md). Fields are only ever added.
#include "reporters/diagnosis_tree.hpp"
#include "reporters/reporter.hpp"

#include <cmath>

namespace backup_doctor {

nlohmann::json metric_json(const Metric& m) {
  nlohmann::json j{{"name", m.name}, {"unit", m.unit}, {"labels", m.labels}};
  j["value"] = std::isfinite(m.value) ? nlohmann::json(m.value) : nlohmann::json(nullptr);
  return j;
}

std::string render_json(const RunReport& report) {
  nlohmann::json results = nlohmann::json::array();
  DiagnosisTree tree = build_diagnosis_tree(report);
  for (size_t i = 0; i < report.results.size(); ++i) {
    const CheckResult& r = report.results[i];
    auto cause = tree.cause[i];
    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& m : r.metrics) metrics.push_back(metric_json(m));
    results.push_back({
        {"id", r.id},
        {"type", r.type},
        {"plugin", r.plugin},
        {"description", r.description},
        {"tags", r.tags},
        {"severity", to_string(r.severity)},
        {"status", to_string(r.status)},
        {"summary", r.summary},
        {"remediation", r.remediation},
        {"details", r.details},
        {"metrics", metrics},
        {"started_at", iso8601(r.started_at)},
        {"duration_seconds", r.duration.count()},
        {"group", group_of(r)},
        {"after", r.after},
        {"caused_by", cause ? nlohmann::json(report.results[*cause].id) : nlohmann::json(nullptr)},
    });
  }
  Status overall = report.overall();
  nlohmann::json counts;
  for (Status s : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
    counts[std::string(to_string(s))] = report.count(s);
  nlohmann::json out{
      {"report_version", 1},
      {"tool", {{"name", "backup-doctor"}, {"version", BD_VERSION}}},
      {"checklist", {{"name", report.checklist_name}, {"file", report.checklist_file}}},
      {"profile",
       report.profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.profile)},
      {"started_at", iso8601(report.started_at)},
      {"duration_seconds", report.duration.count()},
      {"interrupted", report.interrupted},
      {"status", to_string(overall)},
      {"exit_code", exit_code_for(overall)},
      {"counts", counts},
      {"results", results},
  };
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace backup_doctor
