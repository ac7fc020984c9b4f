// A run's results as a diagnosis: grouped by backup set, each consequence under its cause, so
// that "disk full -> dump truncated -> size anomaly" reads as one story with one fix.
// docs/report.md ("Text" and "Causes") gives the rules; the text and JSON reports use them.
#pragma once

#include "result.hpp"

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor {

// How much a status asks for the operator's attention, highest first: fail, error, warn,
// skipped, ok (a known failure before a check that could not tell).
int attention_rank(Status s);

// The result's group: its check's, or for a result that carries none (made by other means
// than a run), its first tag, else kDefaultGroup.
std::string group_of(const CheckResult& r);

enum class CauseKind {
  none,
  declared,  // a direct `needs` or `after` prerequisite that is not ok (or, for a skip, its need)
  inferred,  // an error under a failing check of the same group and plugin it shares parameters
             // with
};

struct DiagnosisGroup {
  std::string name;
  Status worst = Status::ok;  // of the results shown in it, by attention_rank
  std::vector<size_t> roots;  // results whose prerequisites are all ok, worst first
};

struct DiagnosisTree {
  // One entry per result, at its index in RunReport::results.
  std::vector<std::optional<size_t>> cause;
  std::vector<CauseKind> cause_kind;
  std::vector<std::vector<size_t>> consequences;  // worst first, then in checklist order
  // Worst first, then in the order of their first result. A consequence is shown in its root
  // cause's group, whatever its own.
  std::vector<DiagnosisGroup> groups;
};

DiagnosisTree build_diagnosis_tree(const RunReport& report);

}  // namespace backup_doctor
