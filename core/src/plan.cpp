#include "plan.hpp"

#include "interpolate.hpp"
#include "json_text.hpp"
#include "schema_messages.hpp"
#include "schema_validation.hpp"
#include "suggest.hpp"
#include "variables.hpp"

#include <backup_doctor/duration.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace backup_doctor {
namespace {

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

// A --tag or --skip-tag that no check carries selects or skips nothing: say so, it is a typo.
void unknown_tags(const Checklist& cl, const PlanOptions& options,
                  std::vector<std::string>& errors) {
  std::set<std::string> all;
  for (const auto& c : cl.checks) all.insert(c.tags.begin(), c.tags.end());
  std::vector<std::string> known(all.begin(), all.end());
  auto check = [&](const std::vector<std::string>& tags, const char* option) {
    for (const auto& t : tags)
      if (!all.count(t))
        errors.push_back(located(cl.file, "", option,
                                 "no check has the tag '" + t + "'" + did_you_mean(t, known)));
  };
  check(options.tags, "--tag");
  check(options.skip_tags, "--skip-tag");
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
  unknown_tags(cl, options, errors);
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
  // What the selected checks need comes along (a worklist: chains of needs can be long).
  std::vector<std::string> pending(selected.begin(), selected.end());
  while (!pending.empty()) {
    std::string id = std::move(pending.back());
    pending.pop_back();
    for (const auto& n : cl.find(id)->needs)
      if (selected.insert(n).second) pending.push_back(n);
  }
  return selected;
}

// True when any string (or key) inside `value` holds a registered secret.
bool holds_secret(const nlohmann::json& value, const Scrubber& scrubber) {
  return scrubber.scrub_json(value) != value;
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
  for (auto p : it->second.validate(shown)) {
    // The message quotes the offending value: not when a secret went into it (${env:X} of a
    // secret's variable), not even in part (it is shortened) or escaped.
    const nlohmann::json* offending = value_at(shown, p.path);
    if (!p.value.empty() && ctx.scrubber && offending && holds_secret(*offending, *ctx.scrubber))
      p.value = kSecretPlaceholder;
    std::string field = p.path.empty() ? "with" : "with." + json_path(p.path);
    errors.push_back(located(
        cl.file, c.id, "",
        problem_text(p, field) + " ('backup-doctor describe " + c.use + "' lists the parameters)",
        cl.source.line_col(with_path(c, p.path))));
  }
  std::vector<std::string> path;
  inner_timeouts_too_long(shown, c, path, cl.file, errors);
  PlannedCheck planned{c, shown, plugin, {}, {}};
  if (ctx.resolve_secrets) {
    // A secret that is not there stops this check only: the rest of the run still tells the
    // operator what it finds (the message names the variable or file, never a value).
    std::vector<InterpolationError> serrors;
    planned.params = interpolate(c.with, ctx, serrors);
    for (const auto& e : serrors) {
      planned.cannot_run += (planned.cannot_run.empty() ? "" : "; ") +
                            ("with." + json_path(e.path)) + ": " + e.message;
      if (!e.remedy.empty())
        planned.cannot_run_remedy += (planned.cannot_run_remedy.empty() ? "" : " ") + e.remedy;
    }
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
  std::set<std::string> selected = select_checks(cl, options, rv, out.errors);
  // A variable that secrets are read from is hidden from checks, and what ${env:NAME} takes
  // from it is masked like the secret itself.
  std::set<std::string> secret_env;
  for (const auto& c : cl.checks) collect_secret_env(c.with, secret_env);
  collect_secret_env(rv.vars, secret_env);
  out.plan.hidden_env.assign(secret_env.begin(), secret_env.end());
  std::set<std::string> used;
  for (const auto& c : cl.checks)
    if (selected.count(c.id)) collect_variable_refs(c.with, used);
  resolve_variables(cl, rv.vars, used, secret_env, scrubber, out.errors);

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
