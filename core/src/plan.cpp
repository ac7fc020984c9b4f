#include "plan.hpp"

#include "interpolate.hpp"
#include "json_text.hpp"
#include "schema_validation.hpp"
#include "suggest.hpp"

#include <backup_doctor/duration.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace backup_doctor {
namespace {

// Profile names are names: a path ("../x", "/etc/x") would make profiles/NAME.json any file.
bool is_profile_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

std::optional<Profile> find_profile(const Checklist& cl, const std::string& name,
                                    std::vector<std::string>& errors) {
  if (auto it = cl.profiles.find(name); it != cl.profiles.end()) return it->second;
  if (!is_profile_name(name)) {
    errors.push_back(located(cl.file, "", "--profile",
                             "'" + name +
                                 "' is not a profile name: use letters, digits, '_', '-' and "
                                 "'.' (not first); a profile is defined in the checklist's "
                                 "\"profiles\" or in profiles/NAME.json next to it"));
    return std::nullopt;
  }
  auto file = cl.file.parent_path() / "profiles" / (name + ".json");
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return load_profile_file(file, errors);
  std::vector<std::string> names;
  for (const auto& [n, _] : cl.profiles) names.push_back(n);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  errors.push_back(located(cl.file, "", "--profile",
                           "unknown profile '" + name + "'" + did_you_mean(name, names) +
                               "; defined: " + (known.empty() ? "none" : known) + ", and no " +
                               file.string()));
  return std::nullopt;
}

// A parameter named "timeout" or "*_timeout" that holds a duration is a plugin's own time limit
// (for one program, one connection): one longer than the check's timeout would never apply, as
// the check is stopped first, without the clean handling the plugin gives its own limit.
void inner_timeouts_too_long(const nlohmann::json& value, const CheckSpec& spec,
                             std::vector<std::string>& path, const std::filesystem::path& file,
                             std::vector<std::string>& errors) {
  if (!value.is_object()) return;
  for (const auto& [key, item] : value.items()) {
    path.push_back(key);
    bool named = key == "timeout" || (key.size() > 8 && key.ends_with("_timeout"));
    if (named && item.is_string()) {
      auto inner = parse_duration(item.get<std::string>());
      if (inner && *inner > spec.timeout)
        errors.push_back(located(
            file, spec.id, "with." + json_path(path),
            item.get<std::string>() + " is longer than the check's own timeout of " +
                format_duration(spec.timeout) +
                ", which would stop the check first; raise the check's \"timeout\" above it "
                "or lower this one"));
    }
    inner_timeouts_too_long(item, spec, path, file, errors);
    path.pop_back();
  }
}

bool has_any(const std::vector<std::string>& have, const std::vector<std::string>& wanted) {
  for (const auto& w : wanted)
    if (std::find(have.begin(), have.end(), w) != have.end()) return true;
  return false;
}

}  // namespace

namespace {

// The variables a run uses: the checklist's, then the profile's, then --var; and the tags the
// profile adds or skips. False when the profile does not exist (its error is in `errors`).
struct RunVariables {
  nlohmann::json vars;
  std::vector<std::string> tags, skip_tags;
};

bool gather_variables(const Checklist& cl, const PlanOptions& options, RunVariables& rv,
                      std::vector<std::string>& errors) {
  rv.vars = cl.vars;
  rv.tags = options.tags;
  if (!options.profile.empty()) {
    auto profile = find_profile(cl, options.profile, errors);
    if (!profile) return false;
    for (const auto& [k, v] : profile->vars.items()) rv.vars[k] = v;
    rv.tags.insert(rv.tags.end(), profile->tags.begin(), profile->tags.end());
    rv.skip_tags = profile->skip_tags;
  }
  // --var values arrive as text; one that overrides a number or boolean variable takes its type.
  for (const auto& [k, v] : options.vars) {
    rv.vars[k] = v;
    if (!cl.vars.contains(k) || cl.vars[k].is_string()) continue;
    auto typed = nlohmann::json::parse(v, nullptr, false);
    if (!typed.is_discarded() && typed.type() == cl.vars[k].type())
      rv.vars[k] = typed;
    else if (!typed.is_discarded() && typed.is_number() && cl.vars[k].is_number())
      rv.vars[k] = typed;
    else
      errors.push_back(located(cl.file, "", "--var " + k,
                               "expected a " + std::string(cl.vars[k].type_name()) +
                                   " like the checklist's value " + cl.vars[k].dump() + ", got '" +
                                   v + "'"));
  }
  return true;
}

// Expands ${env:NAME} in the variables themselves.
void interpolate_variables(const Checklist& cl, nlohmann::json& vars,
                           const std::set<std::string>& secret_env, Scrubber& scrubber,
                           std::vector<std::string>& errors) {
  InterpolationContext env_only;
  env_only.scrubber = &scrubber;
  env_only.secret_env = &secret_env;
  for (auto& [k, v] : vars.items()) {
    if (!v.is_string()) continue;
    std::string error;
    v = interpolate_string(v.get<std::string>(), env_only, error);
    if (!error.empty()) errors.push_back(located(cl.file, "", "vars." + k, error));
  }
}

// Selection: --only and tags pick checks; whatever they need comes along.
std::set<std::string> select_checks(const Checklist& cl, const PlanOptions& options,
                                    const RunVariables& rv, std::vector<std::string>& errors) {
  std::set<std::string> selected;
  std::vector<std::string> ids;
  for (const auto& c : cl.checks) ids.push_back(c.id);
  for (const auto& id : options.only)
    if (!cl.find(id))
      errors.push_back(
          located(cl.file, "", "--only", "no check has id '" + id + "'" + did_you_mean(id, ids)));
  auto named_by_only = [&](const std::string& id) {
    return std::find(options.only.begin(), options.only.end(), id) != options.only.end();
  };
  for (const auto& c : cl.checks) {
    if (!c.enabled) continue;
    bool pick = true;
    if (!options.only.empty())
      pick = named_by_only(c.id);
    else if (!rv.tags.empty())
      pick = has_any(c.tags, rv.tags);
    if (has_any(c.tags, rv.skip_tags) && !named_by_only(c.id)) pick = false;
    if (pick) selected.insert(c.id);
  }
  std::function<void(const std::string&)> add_needs = [&](const std::string& id) {
    for (const auto& n : cl.find(id)->needs)
      if (selected.insert(n).second) add_needs(n);
  };
  for (const auto& id : std::set<std::string>(selected)) add_needs(id);
  return selected;
}

// The path in the checklist file of a value inside a check's "with".
std::vector<std::string> with_path(const CheckSpec& c, const std::vector<std::string>& inner) {
  std::vector<std::string> path{"checks", std::to_string(c.index), "with"};
  path.insert(path.end(), inner.begin(), inner.end());
  return path;
}

// "unknown check type" with what could explain it: a plugin file of that name that was refused.
std::string unknown_type_message(const CheckSpec& c, const PluginRegistry& registry) {
  std::string msg =
      "unknown check type '" + c.use + "'" + did_you_mean(c.use, registry.check_types());
  std::string prefix = c.use.substr(0, c.use.find('.'));
  for (const auto& r : registry.refused())
    if (r.file.filename().string().find(prefix) != std::string::npos)
      msg += "; note: plugin file " + r.file.string() + " was not loaded: " + r.reason;
  return msg + "; 'backup-doctor plugins' lists the check types available";
}

// Parameters of one selected check: interpolated, checked against the plugin's schema, secrets
// resolved. Nothing when the check cannot be planned (its errors are in `errors`).
std::optional<PlannedCheck> plan_check(const Checklist& cl, const CheckSpec& c,
                                       const PluginRegistry& registry,
                                       const InterpolationContext& ctx,
                                       std::map<std::string, CompiledSchema>& schemas,
                                       std::vector<std::string>& errors) {
  const LoadedPlugin* plugin = registry.plugin_for(c.use);
  if (plugin == nullptr) {
    errors.push_back(located(cl.file, c.id, "use", unknown_type_message(c, registry),
                             cl.source.line_col({"checks", std::to_string(c.index), "use"})));
    return std::nullopt;
  }
  std::vector<InterpolationError> ierrors;
  // Validation sees placeholders for secrets, so a schema can never echo a secret value.
  InterpolationContext vctx = ctx;
  vctx.resolve_secrets = false;
  nlohmann::json shown = interpolate(c.with, vctx, ierrors);
  for (const auto& e : ierrors)
    errors.push_back(located(cl.file, c.id, "with." + json_path(e.path), e.message,
                             cl.source.line_col(with_path(c, e.path))));
  if (!ierrors.empty()) return std::nullopt;

  const CheckTypeInfo* type = plugin->find(c.use);
  auto [it, _] = schemas.try_emplace(c.use, type->params_schema);
  for (const auto& p : it->second.validate(shown)) {
    std::string field = p.path.empty() ? "with" : "with." + json_path(p.path);
    errors.push_back(located(
        cl.file, c.id, "",
        problem_text(p, field) + " ('backup-doctor describe " + c.use + "' lists the parameters)",
        cl.source.line_col(with_path(c, p.path))));
  }
  std::vector<std::string> path;
  inner_timeouts_too_long(shown, c, path, cl.file, errors);
  PlannedCheck planned{c, shown, plugin};
  if (ctx.resolve_secrets) {
    std::vector<InterpolationError> serrors;
    planned.params = interpolate(c.with, ctx, serrors);
    for (const auto& e : serrors)
      errors.push_back(located(cl.file, c.id, "with." + json_path(e.path), e.message,
                               cl.source.line_col(with_path(c, e.path))));
  }
  return planned;
}

}  // namespace

PlanOutcome make_plan(const Checklist& cl, const PluginRegistry& registry,
                      const PlanOptions& options, Scrubber& scrubber) {
  PlanOutcome out;
  out.plan.profile = options.profile;
  RunVariables rv;
  if (!gather_variables(cl, options, rv, out.errors)) return out;
  // A variable that secrets are read from is hidden from checks, and what ${env:NAME} takes
  // from it is masked like the secret itself.
  std::set<std::string> secret_env;
  for (const auto& c : cl.checks) collect_secret_env(c.with, secret_env);
  collect_secret_env(rv.vars, secret_env);
  out.plan.hidden_env.assign(secret_env.begin(), secret_env.end());
  interpolate_variables(cl, rv.vars, secret_env, scrubber, out.errors);

  std::set<std::string> selected = select_checks(cl, options, rv, out.errors);

  std::map<std::string, CompiledSchema> schemas;
  InterpolationContext ctx;
  ctx.vars = &rv.vars;
  ctx.resolve_secrets = options.resolve_secrets;
  ctx.scrubber = &scrubber;
  ctx.secret_env = &secret_env;
  for (const auto& c : cl.checks) {
    if (!selected.count(c.id)) continue;
    if (auto planned = plan_check(cl, c, registry, ctx, schemas, out.errors))
      out.plan.checks.push_back(std::move(*planned));
  }
  if (out.plan.checks.empty() && out.errors.empty())
    out.errors.push_back(
        located(cl.file, "", "", "no check is selected by the given profile, --tag and --only"));
  return out;
}

}  // namespace backup_doctor
