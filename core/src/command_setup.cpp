#include "command_setup.hpp"

#include "plugin_path.hpp"
#include "reporters/safe_text.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <set>

namespace backup_doctor {

PluginRegistry load_registry(const GlobalOptions& g) {
  return PluginRegistry::load(plugin_search_path(
      g.plugin_dirs, std::getenv("BACKUP_DOCTOR_PLUGIN_PATH"), current_executable()));
}

void print_errors(const std::vector<std::string>& errors, const Scrubber& scrubber) {
  for (const auto& e : errors)
    std::fprintf(stderr, "%s\n", printable(scrubber.scrub(e), true).c_str());
}

bool parse_vars(const std::vector<std::string>& raw,
                std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& v : raw) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "backup-doctor: --var %s: expected NAME=VALUE\n", v.c_str());
      return false;
    }
    out.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  return true;
}

// Loads the checklist, the plugins its check types need, and makes the plan; prints every
// problem. Empty on failure.
// Every secret it resolves is added to `scrubber`.
std::optional<Prepared> prepare(const GlobalOptions& g, const RunOptions& o, bool resolve_secrets,
                                Scrubber& scrubber) {
  auto load = load_checklist(o.checklist);
  if (!load.checklist) {
    print_errors(load.errors, scrubber);
    return std::nullopt;
  }
  std::set<std::string> types;
  for (const auto& check : load.checklist->checks) types.insert(check.use);
  auto registry = std::make_unique<PluginRegistry>(PluginRegistry::load_for(
      plugin_search_path(g.plugin_dirs, std::getenv("BACKUP_DOCTOR_PLUGIN_PATH"),
                         current_executable()),
      types));
  for (const auto& r : registry->refused()) spdlog::warn("plugin {} {}", r.file.string(), r.reason);
  PlanOptions po;
  po.profile = o.profile;
  po.tags = o.tags;
  po.skip_tags = o.skip_tags;
  po.var_files.assign(o.var_files.begin(), o.var_files.end());
  po.only = o.only;
  po.resolve_secrets = resolve_secrets;
  if (!parse_vars(o.vars, po.vars)) return std::nullopt;
  auto plan = make_plan(*load.checklist, *registry, po, scrubber);
  if (!plan.errors.empty()) {
    print_errors(plan.errors, scrubber);
    return std::nullopt;
  }
  return Prepared{std::move(registry), std::move(*load.checklist), std::move(plan.plan)};
}

}  // namespace backup_doctor
