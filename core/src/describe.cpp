#include "describe.hpp"

#include <algorithm>

namespace backup_doctor {
namespace {

std::string abi(const LoadedPlugin& p) {
  return std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
}

std::string type_of(const nlohmann::json& prop);

// "integer|string" for a value that may take several shapes (anyOf/oneOf).
std::string alternatives_type(const nlohmann::json& alternatives) {
  std::string out;
  for (const auto& alt : alternatives) out += (out.empty() ? "" : "|") + type_of(alt);
  return out;
}

std::string type_of(const nlohmann::json& prop) {
  if (prop.contains("enum")) {
    std::string out = "one of ";
    for (size_t i = 0; i < prop["enum"].size(); ++i)
      out += (i ? ", " : "") + prop["enum"][i].dump();
    return out;
  }
  for (const char* key : {"anyOf", "oneOf"})
    if (!prop.contains("type") && prop.contains(key) && prop[key].is_array())
      return alternatives_type(prop[key]);
  if (!prop.contains("type")) return "any";
  if (prop["type"].is_array()) {
    std::string out;
    for (const auto& t : prop["type"]) out += (out.empty() ? "" : "|") + t.get<std::string>();
    return out;
  }
  std::string t = prop["type"].get<std::string>();
  if (t == "array" && prop.contains("items") && prop["items"].is_object()) {
    std::string items = type_of(prop["items"]);
    if (items != "any") t += " of " + items;
  }
  return t;
}

struct Param {
  std::string name;         // dotted for nested ones: "restore.jobs", "restore.queries[].sql"
  std::string required_in;  // for a nested parameter: the object it is required in, if it is
  std::string type, description, default_value;
  bool required = false;
};

// The schema of an object, when `schema` describes one (directly, or as one alternative of
// anyOf/oneOf, as in "a name or an object"); else null.
const nlohmann::json* object_schema(const nlohmann::json& schema) {
  if (!schema.is_object()) return nullptr;
  if (schema.contains("properties") && schema["properties"].is_object()) return &schema;
  for (const char* key : {"anyOf", "oneOf"})
    if (schema.contains(key) && schema[key].is_array())
      for (const auto& alt : schema[key])
        if (const auto* found = object_schema(alt)) return found;
  return nullptr;
}

// One level of properties, required first (then in schema order).
std::vector<Param> own_params(const nlohmann::json& schema, const std::string& prefix) {
  std::vector<std::string> required;
  if (schema.contains("required"))
    for (const auto& r : schema["required"]) required.push_back(r.get<std::string>());
  std::vector<Param> out;
  for (const auto& [name, prop] : schema["properties"].items()) {
    if (!prop.is_object()) continue;  // `true`: anything goes, nothing to describe
    Param p;
    p.name = prefix + name;
    p.type = type_of(prop);
    p.description = prop.value("description", "");
    if (prop.contains("default")) p.default_value = prop["default"].dump();
    p.required = std::find(required.begin(), required.end(), name) != required.end();
    if (p.required && !prefix.empty()) p.required_in = prefix.substr(0, prefix.size() - 1);
    out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Param& a, const Param& b) { return a.required > b.required; });
  return out;
}

// Every parameter, each object parameter followed by its own properties ("restore.jobs"), and
// an array of objects by its items' properties ("restore.queries[].sql").
void collect_params(const nlohmann::json& schema, const std::string& prefix,
                    std::vector<Param>& out) {
  for (auto& p : own_params(schema, prefix)) {
    const auto& prop = schema["properties"][p.name.substr(prefix.size())];
    std::string name = p.name;
    out.push_back(std::move(p));
    if (const auto* object = object_schema(prop))
      collect_params(*object, name + ".", out);
    else if (prop.contains("items"))
      if (const auto* item = object_schema(prop["items"])) collect_params(*item, name + "[].", out);
  }
}

std::vector<Param> params_of(const nlohmann::json& schema) {
  std::vector<Param> out;
  if (const auto* object = object_schema(schema)) collect_params(*object, "", out);
  return out;
}

std::string md_cell(std::string s) {
  std::string out;
  for (char c : s)
    out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

}  // namespace

std::string plugins_text(const PluginRegistry& registry) {
  std::string out;
  for (const auto& p : registry.plugins()) {
    out += p.name + " " + p.version + "  (ABI " + abi(p) + ")  " + p.file.string() + "\n";
    if (!p.summary.empty()) out += "  " + p.summary + "\n";
    for (const auto& c : p.checks) out += "    " + c.type + "  " + c.summary + "\n";
  }
  if (registry.plugins().empty()) out += "no plugins loaded\n";
  for (const auto& r : registry.refused())
    out += "refused " + r.file.string() + ": " + r.reason + "\n";
  out += "search path:";
  for (const auto& d : registry.search_path()) out += " " + d.string();
  return out + "\n";
}

std::string plugins_json(const PluginRegistry& registry) {
  nlohmann::json plugins = nlohmann::json::array(), refused = nlohmann::json::array(),
                 path = nlohmann::json::array();
  for (const auto& p : registry.plugins()) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : p.checks) checks.push_back({{"type", c.type}, {"summary", c.summary}});
    plugins.push_back({{"name", p.name},
                       {"version", p.version},
                       {"summary", p.summary},
                       {"abi", abi(p)},
                       {"file", p.file.string()},
                       {"checks", checks}});
  }
  for (const auto& r : registry.refused())
    refused.push_back({{"file", r.file.string()}, {"reason", r.reason}});
  for (const auto& d : registry.search_path()) path.push_back(d.string());
  return nlohmann::json{{"plugins", plugins}, {"refused", refused}, {"search_path", path}}.dump(2) +
         "\n";
}

std::string describe_text(const LoadedPlugin& plugin, const CheckTypeInfo& check) {
  std::string out = check.type + " - " + check.summary + "\n";
  out += "plugin: " + plugin.name + " " + plugin.version + " (" + plugin.file.string() + ")\n\n";
  if (!check.doc.empty()) out += check.doc + "\n\n";
  out += "Parameters (\"with\"):\n";
  auto params = params_of(check.params_schema);
  if (params.empty()) out += "  none\n";
  for (const auto& p : params) {
    std::string required = !p.required             ? ""
                           : p.required_in.empty() ? ", required"
                                                   : ", required in " + p.required_in;
    out += "  " + p.name + " (" + p.type + required +
           (p.default_value.empty() ? "" : ", default " + p.default_value) + ")\n";
    if (!p.description.empty()) out += "      " + p.description + "\n";
  }
  return out;
}

std::string describe_json(const LoadedPlugin& plugin, const CheckTypeInfo& check) {
  return nlohmann::json{{"type", check.type},    {"summary", check.summary},
                        {"doc", check.doc},      {"params", check.params_schema},
                        {"plugin", plugin.name}, {"plugin_version", plugin.version}}
             .dump(2) +
         "\n";
}

std::string describe_markdown(const CheckTypeInfo& check) {
  std::string out = "### `" + check.type + "`\n\n" + check.summary + "\n\n";
  if (!check.doc.empty()) out += check.doc + "\n\n";
  auto params = params_of(check.params_schema);
  if (params.empty()) return out + "No parameters.\n\n";
  out += "| parameter | type | required | default | description |\n|---|---|---|---|---|\n";
  for (const auto& p : params) {
    std::string required = !p.required             ? "no"
                           : p.required_in.empty() ? "yes"
                                                   : "yes, in `" + p.required_in + "`";
    out += "| `" + p.name + "` | " + md_cell(p.type) + " | " + required + " | " +
           (p.default_value.empty() ? "" : "`" + md_cell(p.default_value) + "`") + " | " +
           md_cell(p.description) + " |\n";
  }
  return out + "\n";
}

std::string describe_all_markdown(const PluginRegistry& registry) {
  std::string out =
      "# Check reference\n\n"
      "Generated by `backup-doctor describe --all --format markdown` from the plugins' own\n"
      "descriptions; do not edit by hand.\n\n";
  std::vector<const LoadedPlugin*> plugins;
  for (const auto& p : registry.plugins()) plugins.push_back(&p);
  std::sort(plugins.begin(), plugins.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* p : plugins) {
    out += "## Plugin `" + p->name + "` " + p->version + "\n\n";
    if (!p->summary.empty()) out += p->summary + "\n\n";
    for (const auto& c : p->checks) out += describe_markdown(c);
  }
  return out;
}

}  // namespace backup_doctor
