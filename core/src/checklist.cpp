#include "checklist.hpp"

#include "checklist_schema.hpp"
#include "json_text.hpp"
#include "schema_validation.hpp"
#include "suggest.hpp"

#include <backup_doctor/duration.hpp>

#include <functional>
#include <set>

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

}  // namespace

std::string located(const std::filesystem::path& file, const std::string& check_id,
                    const std::string& field, const std::string& message) {
  std::string out = file.string() + ": ";
  if (!check_id.empty()) out += "check '" + check_id + "': ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

const CheckSpec* Checklist::find(const std::string& id) const {
  for (const auto& c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

ChecklistLoad load_checklist(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) return {std::nullopt, {error}};
  return load_checklist_text(*text, file);
}

ChecklistLoad load_checklist_text(const std::string& text, const std::filesystem::path& origin) {
  ChecklistLoad out;
  auto parsed = parse_json_text(text, origin.string());
  if (!parsed.value) {
    out.errors.push_back(parsed.error);
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
    out.errors.push_back(located(origin, id, where, problem.message));
  }
  if (!out.errors.empty()) return out;

  Checklist cl;
  cl.file = origin;
  cl.name = doc.value("name", origin.stem().string());
  cl.description = doc.value("description", "");
  cl.vars = doc.value("vars", nlohmann::json::object());
  const nlohmann::json profiles = doc.value("profiles", nlohmann::json::object());
  for (const auto& [name, p] : profiles.items()) cl.profiles[name] = profile_from(p);

  Severity default_severity = Severity::critical;
  auto default_timeout = kDefaultCheckTimeout;
  if (doc.contains("defaults")) {
    const auto& d = doc["defaults"];
    if (d.contains("severity"))
      default_severity = *severity_from_string(d["severity"].get<std::string>());
    if (d.contains("timeout")) {
      auto t = parse_duration(d["timeout"].get<std::string>());
      if (t && t->count() > 0)
        default_timeout = *t;
      else
        out.errors.push_back(located(origin, "", "defaults.timeout", "not a positive duration"));
    }
  }

  std::set<std::string> ids;
  for (size_t i = 0; i < doc["checks"].size(); ++i) {
    const auto& c = doc["checks"][i];
    CheckSpec spec;
    spec.index = i;
    spec.id = c["id"].get<std::string>();
    spec.use = c["use"].get<std::string>();
    spec.description = c.value("description", "");
    spec.with = c.value("with", nlohmann::json::object());
    spec.severity = c.contains("severity") ? *severity_from_string(c["severity"].get<std::string>())
                                           : default_severity;
    spec.needs = strings(c, "needs");
    spec.tags = strings(c, "tags");
    spec.enabled = c.value("enabled", true);
    spec.timeout = default_timeout;
    if (c.contains("timeout")) {
      auto t = parse_duration(c["timeout"].get<std::string>());
      if (t && t->count() > 0)
        spec.timeout = *t;
      else
        out.errors.push_back(
            located(origin, spec.id, "timeout", "not a positive duration such as 30s or 5m"));
    }
    if (!ids.insert(spec.id).second)
      out.errors.push_back(located(
          origin, spec.id, "id",
          "duplicate id (checks #" + std::to_string(i + 1) + "); every check needs its own id"));
    cl.checks.push_back(std::move(spec));
  }

  std::vector<std::string> all_ids(ids.begin(), ids.end());
  for (const auto& c : cl.checks)
    for (const auto& n : c.needs) {
      if (n == c.id)
        out.errors.push_back(located(origin, c.id, "needs", "a check cannot need itself"));
      else if (!ids.count(n))
        out.errors.push_back(located(origin, c.id, "needs",
                                     "unknown check id '" + n + "'" + did_you_mean(n, all_ids)));
    }

  // Cycles in needs: depth-first search with colours; report each cycle once, as a path.
  if (out.errors.empty()) {
    std::map<std::string, int> colour;  // 0 new, 1 on stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const CheckSpec&)> visit = [&](const CheckSpec& c) {
      colour[c.id] = 1;
      stack.push_back(c.id);
      for (const auto& n : c.needs) {
        if (colour[n] == 1) {
          std::string cycle;
          auto from = std::find(stack.begin(), stack.end(), n);
          for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
          out.errors.push_back(
              located(origin, c.id, "needs",
                      "cyclic dependency: " + cycle + n + "; remove one of these needs"));
        } else if (colour[n] == 0) {
          visit(*cl.find(n));
        }
      }
      stack.pop_back();
      colour[c.id] = 2;
    };
    for (const auto& c : cl.checks)
      if (colour[c.id] == 0) visit(c);
  }

  if (out.errors.empty()) out.checklist = std::move(cl);
  return out;
}

std::optional<Profile> load_profile_file(const std::filesystem::path& file,
                                         std::vector<std::string>& errors) {
  auto parsed = parse_json_file(file);
  if (!parsed.value) {
    errors.push_back(parsed.error);
    return std::nullopt;
  }
  auto problems = profile_schema().validate(*parsed.value);
  for (const auto& p : problems) errors.push_back(located(file, "", json_path(p.path), p.message));
  if (!problems.empty()) return std::nullopt;
  return profile_from(*parsed.value);
}

}  // namespace backup_doctor
