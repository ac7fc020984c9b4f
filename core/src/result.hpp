// What a check run produces, and the run as a whole: the data every reporter renders.
#pragma once

#include "status.hpp"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backup_doctor {

struct Metric {
  std::string name;  // snake_case, no prefix, no unit suffix
  double value = 0;
  std::string unit;  // seconds, bytes, ratio, percent, count or empty
  nlohmann::json labels = nlohmann::json::object();
};

// The group of a check that names none and has no tags (docs/checklist.md).
inline constexpr const char* kDefaultGroup = "other";

struct CheckResult {
  std::string id;
  std::string type;    // "files.freshness"
  std::string plugin;  // "files"
  std::string description;
  std::vector<std::string> tags;
  Severity severity = Severity::critical;
  Status status = Status::error;
  std::string summary;
  std::string remediation;
  nlohmann::json details = nlohmann::json::object();
  std::vector<Metric> metrics;
  std::vector<std::string> logs;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::duration<double> duration{0};
  // It could not run for want of what the checklist names (a secret that is not there): the
  // run counts it as an error whatever the check's severity, since what needs it never ran.
  bool unconfigured = false;
  // From the checklist, for the report's diagnosis tree (reporters/diagnosis_tree.hpp).
  std::string group;  // empty: its first tag, else kDefaultGroup (as the checklist's rule)
  std::vector<std::string> needs;
  std::vector<std::string> after;
  // The parameters the check ran with, each top-level one as a hash of its value: enough to
  // tell that two checks talk to the same server, without keeping a value (secrets included).
  std::map<std::string, size_t> param_fingerprint;
};

struct RunReport {
  std::string checklist_name;
  std::string checklist_file;
  std::string profile;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::duration<double> duration{0};
  bool interrupted = false;
  std::vector<CheckResult> results;  // in checklist order

  // Worst weighted status over all results (an interrupted run is at least `error`).
  Status overall() const;
  // Number of results per raw status.
  size_t count(Status s) const;
};

// The fingerprint of a check's interpolated parameters (CheckResult::param_fingerprint).
std::map<std::string, size_t> parameter_fingerprint(const nlohmann::json& params);

std::string iso8601(std::chrono::system_clock::time_point t);

}  // namespace backup_doctor
