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

PlanOutcome make_plan(const Checklist& cl, const PluginRegistry& registry,
                      const PlanOptions& options, Scrubber& scrubber) {
  PlanOutcome out;
  out.plan.profile = options.profile;

  // Variables: the checklist's, then the profile's, then --var; each may use ${env:NAME}.
  nlohmann::json vars = cl.vars;
  std::vector<std::string> tags = options.tags, skip_tags;
  if (!options.profile.empty()) {
    auto profile = find_profile(cl, options.profile, out.errors);
    if (!profile) return out;
    for (const auto& [k, v] : profile->vars.items()) vars[k] = v;
    tags.insert(tags.end(), profile->tags.begin(), profile->tags.end());
    skip_tags = profile->skip_tags;
  }
  // --var values arrive as text; one that overrides a number or boolean variable takes its type.
  for (const auto& [k, v] : options.vars) {
    vars[k] = v;
    if (!cl.vars.contains(k) || cl.vars[k].is_string()) continue;
    auto typed = nlohmann::json::parse(v, nullptr, false);
    if (!typed.is_discarded() && typed.type() == cl.vars[k].type())
      vars[k] = typed;
    else if (!typed.is_discarded() && typed.is_number() && cl.vars[k].is_number())
      vars[k] = typed;
    else
      out.errors.push_back(located(cl.file, "", "--var " + k,
                                   "expected a " + std::string(cl.vars[k].type_name()) +
                                       " like the checklist's value " + cl.vars[k].dump() +
                                       ", got '" + v + "'"));
  }
  // A variable that secrets are read from is hidden from checks, and what ${env:NAME} takes
  // from it is masked like the secret itself.
  std::set<std::string> secret_env;
  for (const auto& c : cl.checks) collect_secret_env(c.with, secret_env);
  collect_secret_env(vars, secret_env);
  out.plan.hidden_env.assign(secret_env.begin(), secret_env.end());
  InterpolationContext env_only;
  env_only.scrubber = &scrubber;
  env_only.secret_env = &secret_env;
  for (auto& [k, v] : vars.items()) {
    if (!v.is_string()) continue;
    std::string error;
    v = interpolate_string(v.get<std::string>(), env_only, error);
    if (!error.empty()) out.errors.push_back(located(cl.file, "", "vars." + k, error));
  }

  // Selection: --only and tags pick checks; whatever they need comes along.
  std::set<std::string> selected;
  std::vector<std::string> ids;
  for (const auto& c : cl.checks) ids.push_back(c.id);
  for (const auto& id : options.only)
    if (!cl.find(id))
      out.errors.push_back(
          located(cl.file, "", "--only", "no check has id '" + id + "'" + did_you_mean(id, ids)));
  for (const auto& c : cl.checks) {
    if (!c.enabled) continue;
    bool pick = true;
    if (!options.only.empty())
      pick = std::find(options.only.begin(), options.only.end(), c.id) != options.only.end();
    else if (!tags.empty())
      pick = has_any(c.tags, tags);
    if (has_any(c.tags, skip_tags) &&
        std::find(options.only.begin(), options.only.end(), c.id) == options.only.end())
      pick = false;
    if (pick) selected.insert(c.id);
  }
  std::function<void(const std::string&)> add_needs = [&](const std::string& id) {
    for (const auto& n : cl.find(id)->needs)
      if (selected.insert(n).second) add_needs(n);
  };
  for (const auto& id : std::set<std::string>(selected)) add_needs(id);

  // Parameters: interpolate, check against the plugin's schema, resolve secrets.
  std::map<std::string, CompiledSchema> schemas;
  auto types = registry.check_types();
  InterpolationContext ctx;
  ctx.vars = &vars;
  ctx.resolve_secrets = options.resolve_secrets;
  ctx.scrubber = &scrubber;
  ctx.secret_env = &secret_env;
  for (const auto& c : cl.checks) {
    if (!selected.count(c.id)) continue;
    const LoadedPlugin* plugin = registry.plugin_for(c.use);
    if (plugin == nullptr) {
      std::string msg = "unknown check type '" + c.use + "'" + did_you_mean(c.use, types);
      std::string prefix = c.use.substr(0, c.use.find('.'));
      for (const auto& r : registry.refused())
        if (r.file.filename().string().find(prefix) != std::string::npos)
          msg += "; note: plugin file " + r.file.string() + " was not loaded: " + r.reason;
      msg += "; 'backup-doctor plugins' lists the check types available";
      out.errors.push_back(located(cl.file, c.id, "use", msg));
      continue;
    }
    std::vector<InterpolationError> ierrors;
    // Validation sees placeholders for secrets, so a schema can never echo a secret value.
    InterpolationContext vctx = ctx;
    vctx.resolve_secrets = false;
    nlohmann::json shown = interpolate(c.with, vctx, ierrors);
    for (const auto& e : ierrors)
      out.errors.push_back(located(cl.file, c.id, "with." + json_path(e.path), e.message));
    if (!ierrors.empty()) continue;

    const CheckTypeInfo* type = plugin->find(c.use);
    auto [it, _] = schemas.try_emplace(c.use, type->params_schema);
    for (const auto& p : it->second.validate(shown)) {
      std::string field = p.path.empty() ? "with" : "with." + json_path(p.path);
      out.errors.push_back(
          located(cl.file, c.id, field,
                  p.message + " ('backup-doctor describe " + c.use + "' lists the parameters)"));
    }
    std::vector<std::string> path;
    inner_timeouts_too_long(shown, c, path, cl.file, out.errors);
    PlannedCheck planned{c, shown, plugin};
    if (options.resolve_secrets) {
      std::vector<InterpolationError> serrors;
      planned.params = interpolate(c.with, ctx, serrors);
      for (const auto& e : serrors)
        out.errors.push_back(located(cl.file, c.id, "with." + json_path(e.path), e.message));
    }
    out.plan.checks.push_back(std::move(planned));
  }
  if (out.plan.checks.empty() && out.errors.empty())
    out.errors.push_back(
        located(cl.file, "", "", "no check is selected by the given profile, --tag and --only"));
  return out;
}

}  // namespace backup_doctor
