#include "checklist.hpp"

#include "checklist_schema.hpp"
#include "json_text.hpp"
#include "result.hpp"
#include "schema_validation.hpp"
#include "suggest.hpp"

#include <backup_doctor/duration.hpp>

#include <algorithm>
#include <set>
#include <string_view>

namespace backup_doctor {
namespace {

const CompiledSchema& checklist_schema() {
  static const CompiledSchema schema(nlohmann::json::parse(checklist_schema_text()));
  return schema;
}

const CompiledSchema& profile_schema() {
  static const CompiledSchema schema([] {
    auto root = nlohmann::json::parse(checklist_schema_text());
    auto profile = root["definitions"]["profile"];
    profile["definitions"] = root["definitions"];
    return profile;
  }());
  return schema;
}

std::vector<std::string> strings(const nlohmann::json& obj, const char* key) {
  std::vector<std::string> out;
  if (obj.contains(key))
    for (const auto& v : obj[key]) out.push_back(v.get<std::string>());
  return out;
}

Profile profile_from(const nlohmann::json& j) {
  Profile p;
  p.description = j.value("description", "");
  p.vars = j.value("vars", nlohmann::json::object());
  p.tags = strings(j, "tags");
  p.skip_tags = strings(j, "skip_tags");
  return p;
}

// A check's id for messages about checks[i], when it has one.
std::string id_at(const nlohmann::json& doc, const std::vector<std::string>& path) {
  if (path.size() >= 2 && path[0] == "checks") {
    try {
      const auto& c = doc["checks"].at(std::stoul(path[1]));
      if (c.is_object() && c.contains("id") && c["id"].is_string())
        return c["id"].get<std::string>();
      return "#" + std::to_string(std::stoul(path[1]) + 1);
    } catch (...) {
    }
  }
  return {};
}

struct Defaults {
  Severity severity = Severity::critical;
  std::chrono::milliseconds timeout = kDefaultCheckTimeout;
};

std::vector<std::string> check_path(size_t index, const std::string& field) {
  return {"checks", std::to_string(index), field};
}

Defaults read_defaults(const nlohmann::json& doc, const SourceMap& source,
                       const std::filesystem::path& origin, std::vector<std::string>& errors) {
  Defaults d;
  if (!doc.contains("defaults")) return d;
  const auto& j = doc["defaults"];
  if (j.contains("severity")) d.severity = *severity_from_string(j["severity"].get<std::string>());
  if (j.contains("timeout")) {
    auto t = parse_duration(j["timeout"].get<std::string>());
    if (t && t->count() > 0)
      d.timeout = *t;
    else
      errors.push_back(located(origin, "", "defaults.timeout",
                               "not a positive duration such as 30s or 5m",
                               source.line_col({"defaults", "timeout"})));
  }
  return d;
}

// One entry of "checks", already valid against the checklist schema.
CheckSpec read_check(const nlohmann::json& c, size_t i, const Defaults& defaults,
                     const Checklist& cl, std::vector<std::string>& errors) {
  CheckSpec spec;
  spec.index = i;
  spec.id = c["id"].get<std::string>();
  spec.use = c["use"].get<std::string>();
  spec.description = c.value("description", "");
  spec.with = c.value("with", nlohmann::json::object());
  spec.severity = c.contains("severity") ? *severity_from_string(c["severity"].get<std::string>())
                                         : defaults.severity;
  spec.needs = strings(c, "needs");
  spec.after = strings(c, "after");
  spec.tags = strings(c, "tags");
  spec.group = c.contains("group") ? c["group"].get<std::string>()
               : spec.tags.empty() ? std::string(kDefaultGroup)
                                   : spec.tags.front();
  spec.enabled = c.value("enabled", true);
  spec.timeout = defaults.timeout;
  if (c.contains("timeout")) {
    auto t = parse_duration(c["timeout"].get<std::string>());
    if (t && t->count() > 0)
      spec.timeout = *t;
    else
      errors.push_back(located(cl.file, spec.id, "timeout",
                               "not a positive duration such as 30s or 5m",
                               cl.source.line_col(check_path(i, "timeout"))));
  }
  return spec;
}

// Ids are unique (and indexed).
void check_ids(Checklist& cl, std::vector<std::string>& errors) {
  for (const auto& c : cl.checks) {
    auto [first, fresh] = cl.index.emplace(c.id, c.index);
    if (!fresh)
      errors.push_back(located(cl.file, c.id, "id",
                               "duplicate id (checks #" + std::to_string(first->second + 1) +
                                   " and #" + std::to_string(c.index + 1) +
                                   "); every check needs its own id",
                               cl.source.line_col(check_path(c.index, "id"))));
  }
}

// Every entry of `needs` or `after` (`field`) names another check. A need must also name an
// enabled one when the needing check is enabled (a disabled prerequisite would silently skip
// what needs it on every run); `after` does not gate, so a disabled one is merely never a cause.
void check_references(const Checklist& cl, const char* field,
                      std::vector<std::string> CheckSpec::*list,
                      const std::vector<std::string>& all_ids, std::vector<std::string>& errors) {
  const bool gating = std::string_view(field) == "needs";
  for (const auto& c : cl.checks)
    for (size_t k = 0; k < (c.*list).size(); ++k) {
      const std::string& n = (c.*list)[k];
      // Computed only for an error: finding a column scans its line.
      auto where = [&] {
        return cl.source.line_col({"checks", std::to_string(c.index), field, std::to_string(k)});
      };
      const CheckSpec* need = cl.find(n);
      if (n == c.id)
        errors.push_back(located(cl.file, c.id, field,
                                 gating ? "a check cannot need itself"
                                        : "a check cannot come after itself; remove its own id",
                                 where()));
      else if (!need)
        errors.push_back(located(cl.file, c.id, field,
                                 "unknown check id '" + n + "'" + did_you_mean(n, all_ids),
                                 where()));
      else if (gating && c.enabled && !need->enabled)
        errors.push_back(located(cl.file, c.id, field,
                                 "'" + n +
                                     "' is disabled (\"enabled\": false), so this check "
                                     "would be skipped on every run; enable '" +
                                     n + "', disable this one too, or drop the need",
                                 where()));
    }
}

void check_ids_and_references(Checklist& cl, std::vector<std::string>& errors) {
  check_ids(cl, errors);
  std::vector<std::string> all_ids;
  for (const auto& c : cl.checks) all_ids.push_back(c.id);
  check_references(cl, "needs", &CheckSpec::needs, all_ids, errors);
  check_references(cl, "after", &CheckSpec::after, all_ids, errors);
}

// "a -> b -> c -> a"; a long cycle shows its start and end and how many checks are in it.
std::string cycle_text(const std::vector<std::string>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids.size() > 8 && i == 5) {
      out += "... (" + std::to_string(ids.size() - 7) + " more) -> ";
      i = ids.size() - 2;
    }
    out += ids[i] + " -> ";
  }
  return out + ids.front();
}

// The k-th prerequisite of a check: its needs, then its after entries; cycles are searched for
// over both (an after cycle would make a consequence its own cause).
size_t prerequisite_count(const CheckSpec& c) {
  return c.needs.size() + c.after.size();
}
bool is_after_edge(const CheckSpec& c, size_t k) {
  return k >= c.needs.size();
}
const std::string& prerequisite(const CheckSpec& c, size_t k) {
  return is_after_edge(c, k) ? c.after[k - c.needs.size()] : c.needs[k];
}

struct Visit {
  size_t check;
  size_t next_need;  // the next prerequisite to follow; the one before it was followed last
};

// The error for a cycle: the path from `from` to the top of the stack, reported at the field
// (needs or after) of the relation that closed it.
std::string cycle_error(const Checklist& cl, std::vector<Visit>::const_iterator from,
                        std::vector<Visit>::const_iterator end) {
  std::vector<std::string> ids;
  bool via_after = false;
  for (auto it = from; it != end; ++it) {
    ids.push_back(cl.checks[it->check].id);
    via_after = via_after || is_after_edge(cl.checks[it->check], it->next_need - 1);
  }
  const Visit& top = *(end - 1);
  const CheckSpec& c = cl.checks[top.check];
  const char* field = is_after_edge(c, top.next_need - 1) ? "after" : "needs";
  return located(cl.file, c.id, field,
                 "cyclic dependency: " + cycle_text(ids) + "; remove one of these " +
                     (via_after ? "needs or after entries" : "needs"),
                 cl.source.line_col(check_path(c.index, field)));
}

// Cycles in needs and after: an iterative depth-first search with colours (a chain of 100,000
// needs must not overflow the stack); each cycle is reported once, as a path.
void find_cycles(const Checklist& cl, std::vector<std::string>& errors) {
  enum Colour : char { fresh, on_stack, done };
  std::vector<Colour> colour(cl.checks.size(), fresh);
  // Each cycle costs its length to phrase: a handful tells the operator what to fix.
  constexpr size_t kMaxCyclesReported = 10;
  size_t cycles = 0;
  for (size_t root = 0; root < cl.checks.size(); ++root) {
    if (colour[root] != fresh) continue;
    std::vector<Visit> stack{{root, 0}};
    colour[root] = on_stack;
    while (!stack.empty()) {
      Visit& top = stack.back();
      const CheckSpec& c = cl.checks[top.check];
      if (top.next_need == prerequisite_count(c)) {
        colour[top.check] = done;
        stack.pop_back();
        continue;
      }
      size_t n = cl.index.at(prerequisite(c, top.next_need++));
      if (colour[n] == fresh) {
        colour[n] = on_stack;
        stack.push_back({n, 0});
      } else if (colour[n] == on_stack && ++cycles <= kMaxCyclesReported) {
        auto from =
            std::find_if(stack.begin(), stack.end(), [&](const Visit& v) { return v.check == n; });
        errors.push_back(cycle_error(cl, from, stack.end()));
      }
    }
  }
}

}  // namespace

std::string located(const std::filesystem::path& file, const std::string& check_id,
                    const std::string& field, const std::string& message,
                    const std::string& line_col) {
  std::string out = file.string() + (line_col.empty() ? "" : ":" + line_col) + ": ";
  if (!check_id.empty()) out += "check '" + check_id + "': ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

const CheckSpec* Checklist::find(const std::string& id) const {
  auto it = index.find(id);
  return it == index.end() ? nullptr : &checks[it->second];
}

ChecklistLoad load_checklist(const std::filesystem::path& file) {
  std::string error;
  if (file == "-") {
    auto text = read_stdin_text(error);
    if (!text) return {std::nullopt, {error}};
    return load_checklist_text(*text, kStdinName);
  }
  auto text = read_text_file(file, error);
  if (!text) return {std::nullopt, {error}};
  return load_checklist_text(*text, file);
}

ChecklistLoad load_checklist_text(const std::string& text, const std::filesystem::path& origin) {
  ChecklistLoad out;
  auto parsed = parse_json_text(text, origin.string());
  if (!parsed.value) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  const nlohmann::json& doc = *parsed.value;

  for (const auto& problem : checklist_schema().validate(doc)) {
    std::vector<std::string> field = problem.path;
    std::string id = id_at(doc, field);
    std::string where = json_path(field);
    if (!id.empty() && field.size() > 2)
      where = json_path(std::vector<std::string>(field.begin() + 2, field.end()));
    else if (!id.empty())
      where.clear();
    out.errors.push_back(
        located(origin, id, "", problem_text(problem, where), parsed.source.line_col(field)));
  }
  if (!out.errors.empty()) return out;

  Checklist cl;
  cl.file = origin;
  cl.source = std::move(parsed.source);
  cl.name = doc.value("name", origin.stem().string());
  cl.description = doc.value("description", "");
  cl.vars = doc.value("vars", nlohmann::json::object());
  const nlohmann::json profiles = doc.value("profiles", nlohmann::json::object());
  for (const auto& [name, p] : profiles.items()) cl.profiles[name] = profile_from(p);

  Defaults defaults = read_defaults(doc, cl.source, origin, out.errors);
  for (size_t i = 0; i < doc["checks"].size(); ++i)
    cl.checks.push_back(read_check(doc["checks"][i], i, defaults, cl, out.errors));
  check_ids_and_references(cl, out.errors);
  if (out.errors.empty()) find_cycles(cl, out.errors);

  if (out.errors.empty()) out.checklist = std::move(cl);
  return out;
}

std::optional<Profile> load_profile_file(const std::filesystem::path& file,
                                         std::vector<std::string>& errors) {
  auto parsed = parse_json_file(file);
  if (!parsed.value) {
    errors.insert(errors.end(), parsed.errors.begin(), parsed.errors.end());
    return std::nullopt;
  }
  auto problems = profile_schema().validate(*parsed.value);
  for (const auto& p : problems)
    errors.push_back(
        located(file, "", "", problem_text(p, json_path(p.path)), parsed.source.line_col(p.path)));
  if (!problems.empty()) return std::nullopt;
  return profile_from(*parsed.value);
}

}  // namespace backup_doctor
