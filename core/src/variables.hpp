// The variables of a run and where they come from: the checklist's "vars", then the profile's,
// then each --var-file, then each --var (later wins). Variables may use other variables and
// ${env:NAME}; they are resolved in dependency order, and only those the selected checks use,
// so that running part of a checklist never needs what the rest uses.
#pragma once

#include "checklist.hpp"
#include "plan.hpp"
#include "scrubber.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace backup_doctor {

struct RunVariables {
  nlohmann::json vars = nlohmann::json::object();
  std::vector<std::string> tags, skip_tags;  // the profile's and the command line's
};

// Gathers the variables and tags of a run. False when the profile or a variable file cannot be
// read; every problem (also a --var that names no variable) is in `errors`.
bool gather_variables(const Checklist& cl, const PlanOptions& options, RunVariables& rv,
                      std::vector<std::string>& errors);

// Resolves ${name} and ${env:NAME} inside the variables that `used` names and those they use,
// in dependency order; a cycle is an error naming it. Values taken from `secret_env` are
// registered with `scrubber`.
void resolve_variables(const Checklist& cl, nlohmann::json& vars, const std::set<std::string>& used,
                       const std::set<std::string>& secret_env, Scrubber& scrubber,
                       std::vector<std::string>& errors);

}  // namespace backup_doctor
