// From a loaded checklist to the list of checks to run: profile and --var values, tag and
// --only selection (with everything selected checks need), interpolated parameters validated
// against each plugin's schema, and secrets resolved. Nothing runs before this succeeds.
#pragma once

#include "checklist.hpp"
#include "plugin_registry.hpp"
#include "scrubber.hpp"

#include <string>
#include <utility>
#include <vector>

namespace backup_doctor {

struct PlanOptions {
  std::string profile;
  std::vector<std::pair<std::string, std::string>> vars;  // --var k=v, in order
  std::vector<std::filesystem::path> var_files;           // --var-file, in order
  std::vector<std::string> tags;                          // --tag
  std::vector<std::string> skip_tags;                     // --skip-tag
  std::vector<std::string> only;                          // --only
  bool resolve_secrets = true;  // false for `validate`: secrets need not be present
};

struct PlannedCheck {
  CheckSpec spec;
  nlohmann::json params;  // interpolated; secrets resolved (never print it)
  const LoadedPlugin* plugin = nullptr;
  // Why the check cannot run although it is valid (a secret that is not there): the runner
  // reports it as an error with this text instead of starting it. Empty when it can run.
  std::string cannot_run;
  std::string cannot_run_remedy;  // what to do about it
};

struct Plan {
  std::string profile;
  std::vector<PlannedCheck> checks;  // checklist order
  // Environment variables that secrets are read from: check processes never see them.
  std::vector<std::string> hidden_env;
};

struct PlanOutcome {
  Plan plan;
  std::vector<std::string> errors;
};

PlanOutcome make_plan(const Checklist& checklist, const PluginRegistry& registry,
                      const PlanOptions& options, Scrubber& scrubber);

}  // namespace backup_doctor
