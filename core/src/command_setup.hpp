// What run, validate and serve share before anything runs: their options, and loading a
// checklist with the plugins it needs into a plan.
#pragma once

#include "checklist.hpp"
#include "plan.hpp"
#include "plugin_registry.hpp"
#include "scrubber.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backup_doctor {

struct GlobalOptions {
  std::vector<std::string> plugin_dirs;
  std::string log_level = "warn";
};

struct RunOptions {
  std::string checklist;
  std::string profile;
  std::vector<std::string> vars, var_files, tags, skip_tags, only, reports;
  unsigned jobs = 0;
  std::string format = "text";
  std::string fail_on = "warn";
  std::string color = "auto";
  std::string group = "set";  // text output: by backup set with causes first, or none
  bool no_progress = false;
  bool verbose = false;
};

PluginRegistry load_registry(const GlobalOptions& g);

// Each error on its own line on stderr, scrubbed and printable.
void print_errors(const std::vector<std::string>& errors, const Scrubber& scrubber);

// NAME=VALUE pairs; false (after saying which) when one is not.
bool parse_vars(const std::vector<std::string>& raw,
                std::vector<std::pair<std::string, std::string>>& out);

struct Prepared {
  std::unique_ptr<PluginRegistry> registry;  // the plan points into it
  Checklist checklist;
  Plan plan;
};

// Loads the checklist, the plugins its check types need, and makes the plan; prints every
// problem. Empty on failure. Every secret it resolves is added to `scrubber`.
std::optional<Prepared> prepare(const GlobalOptions& g, const RunOptions& o, bool resolve_secrets,
                                Scrubber& scrubber);

}  // namespace backup_doctor
