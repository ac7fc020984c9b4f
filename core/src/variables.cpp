#include "variables.hpp"

#include "interpolate.hpp"
#include "json_text.hpp"
#include "suggest.hpp"

#include <algorithm>
#include <cctype>
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
  std::vector<std::string> names;
  for (const auto& [n, _] : cl.profiles) names.push_back(n);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  if (cl.file == kStdinName) {
    errors.push_back(located(cl.file, "", "--profile",
                             "unknown profile '" + name + "'" + did_you_mean(name, names) +
                                 "; defined: " + (known.empty() ? "none" : known) +
                                 " (a checklist read from stdin has no profiles/ directory)"));
    return std::nullopt;
  }
  auto file = cl.file.parent_path() / "profiles" / (name + ".json");
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return load_profile_file(file, errors);
  errors.push_back(located(cl.file, "", "--profile",
                           "unknown profile '" + name + "'" + did_you_mean(name, names) +
                               "; defined: " + (known.empty() ? "none" : known) + ", and no " +
                               file.string()));
  return std::nullopt;
}

// Every name a variable could have: defined by the checklist or its profiles, or used as
// ${name} anywhere in it (a variable meant to come from --var need not be defined).
std::vector<std::string> known_variables(const Checklist& cl, const nlohmann::json& profile_vars) {
  std::set<std::string> names;
  for (const auto& [k, _] : cl.vars.items()) names.insert(k);
  for (const auto& [k, _] : profile_vars.items()) names.insert(k);
  for (const auto& [_, p] : cl.profiles)
    for (const auto& [k, v] : p.vars.items()) names.insert(k);
  collect_variable_refs(cl.vars, names);
  for (const auto& c : cl.checks) collect_variable_refs(c.with, names);
  return {names.begin(), names.end()};
}

// nlohmann's syntax errors quote what was read last ("last read: '\"hunter2...'"): a variable
// file may hold a password or a token, so its messages give the position only.
std::string without_quoted_input(std::string message) {
  const std::string marker = "; last read: '";
  auto from = message.find(marker);
  if (from == std::string::npos) return message;
  auto to = message.find("'; ", from + marker.size());
  message.erase(from, to == std::string::npos ? std::string::npos : to + 1 - from);
  return message;
}

// A --var-file: a JSON object of name -> string, number or boolean, read like a checklist.
bool read_var_file(const std::filesystem::path& file, nlohmann::json& vars,
                   std::vector<std::string>& errors) {
  auto parsed = parse_json_file(file);
  if (!parsed.value) {
    for (auto& e : parsed.errors) errors.push_back(without_quoted_input(std::move(e)));
    return false;
  }
  if (!parsed.value->is_object()) {
    errors.push_back(located(file, "", "", "a variable file is a JSON object of name: value",
                             parsed.source.line_col({})));
    return false;
  }
  bool ok = true;
  for (const auto& [k, v] : parsed.value->items()) {
    if (v.is_string() || v.is_number() || v.is_boolean()) {
      vars[k] = v;
      continue;
    }
    errors.push_back(located(
        file, "", k,
        "is " + std::string(v.type_name()) + "; a variable is a string, a number or a boolean",
        parsed.source.line_col({k})));
    ok = false;
  }
  return ok;
}

// --var values arrive as text; one that overrides a number or boolean variable takes its type.
void apply_command_line_var(const Checklist& cl, const std::string& k, const std::string& v,
                            nlohmann::json& vars, std::vector<std::string>& errors) {
  vars[k] = v;
  if (!cl.vars.contains(k) || cl.vars[k].is_string()) return;
  auto typed = nlohmann::json::parse(v, nullptr, false);
  if (!typed.is_discarded() && typed.type() == cl.vars[k].type())
    vars[k] = typed;
  else if (!typed.is_discarded() && typed.is_number() && cl.vars[k].is_number())
    vars[k] = typed;
  else
    errors.push_back(located(cl.file, "", "--var " + k,
                             "expected a " + std::string(cl.vars[k].type_name()) +
                                 " like the checklist's value " + cl.vars[k].dump() + ", got '" +
                                 v + "'"));
}

}  // namespace

bool gather_variables(const Checklist& cl, const PlanOptions& options, RunVariables& rv,
                      std::vector<std::string>& errors) {
  rv.vars = cl.vars;
  rv.tags = options.tags;
  rv.skip_tags = options.skip_tags;
  nlohmann::json profile_vars = nlohmann::json::object();
  if (!options.profile.empty()) {
    auto profile = find_profile(cl, options.profile, errors);
    if (!profile) return false;
    profile_vars = profile->vars;
    for (const auto& [k, v] : profile->vars.items()) rv.vars[k] = v;
    rv.tags.insert(rv.tags.end(), profile->tags.begin(), profile->tags.end());
    rv.skip_tags.insert(rv.skip_tags.end(), profile->skip_tags.begin(), profile->skip_tags.end());
  }
  bool files_ok = true;
  for (const auto& file : options.var_files)
    files_ok = read_var_file(file, rv.vars, errors) && files_ok;
  std::vector<std::string> known = known_variables(cl, profile_vars);
  for (const auto& [k, v] : options.vars) {
    if (!std::binary_search(known.begin(), known.end(), k)) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      errors.push_back(located(cl.file, "", "--var " + k,
                               "this checklist has no variable '" + k + "'" +
                                   did_you_mean(k, known) +
                                   "; its variables: " + (list.empty() ? "none" : list)));
      continue;
    }
    apply_command_line_var(cl, k, v, rv.vars, errors);
  }
  return files_ok;
}

namespace {

// A resolved variable larger than this is refused: "${a}${a}" chains double at every step, and
// forty of them would ask for terabytes.
constexpr size_t kMaxVariableValue = 1 << 20;

std::string circle_text(const std::vector<std::string>& chain, const std::string& name) {
  std::string cycle;
  for (auto it = std::find(chain.begin(), chain.end(), name); it != chain.end(); ++it)
    cycle += "${" + *it + "} -> ";
  return cycle + "${" + name + "}";
}

}  // namespace

void resolve_variables(const Checklist& cl, nlohmann::json& vars, const std::set<std::string>& used,
                       const std::set<std::string>& secret_env, Scrubber& scrubber,
                       std::vector<std::string>& errors) {
  InterpolationContext ctx;
  ctx.vars = &vars;
  ctx.scrubber = &scrubber;
  ctx.secret_env = &secret_env;
  enum State : char { unresolved, resolving, resolved };
  std::map<std::string, State> state;
  // Depth-first over the references with an explicit stack: a checklist can chain any number
  // of variables. `chain` is the path being resolved, for naming a circle.
  struct Pending {
    std::string name;
    std::vector<std::string> refs;
    size_t next = 0;
  };
  auto resolve_one = [&](const std::string& name) {
    std::string error;
    auto out = interpolate_string(vars[name].get<std::string>(), ctx, error);
    if (error.empty() && out.is_string() &&
        out.get_ref<const std::string&>().size() > kMaxVariableValue)
      error =
          "its value grows past 1 MiB once the variables in it are replaced; a variable "
          "holds a path, a host or a name, so look for one that repeats another";
    if (error.empty())
      vars[name] = std::move(out);
    else
      errors.push_back(located(cl.file, "", "vars." + name, error));
  };
  auto refs_of = [&](const std::string& name) {
    std::set<std::string> refs;
    if (vars[name].is_string()) collect_variable_refs(vars[name], refs);
    return std::vector<std::string>(refs.begin(), refs.end());
  };
  for (const auto& root : used) {
    if (!vars.contains(root) || state[root] != unresolved) continue;
    std::vector<Pending> stack{{root, refs_of(root), 0}};
    std::vector<std::string> chain{root};
    state[root] = resolving;
    while (!stack.empty()) {
      Pending& top = stack.back();
      if (top.next == top.refs.size()) {
        if (vars[top.name].is_string()) resolve_one(top.name);
        state[top.name] = resolved;
        chain.pop_back();
        stack.pop_back();
        continue;
      }
      const std::string ref = top.refs[top.next++];
      if (!vars.contains(ref) || state[ref] == resolved) continue;
      if (state[ref] == resolving) {
        errors.push_back(
            located(cl.file, "", "vars." + ref,
                    "variables refer to each other in a circle: " + circle_text(chain, ref) +
                        "; give one of them a value of its own"));
        return;  // one circle is enough to fix; the rest would repeat it
      }
      state[ref] = resolving;
      chain.push_back(ref);
      stack.push_back({ref, refs_of(ref), 0});
    }
  }
}

}  // namespace backup_doctor
