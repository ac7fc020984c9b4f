#include "schema_messages.hpp"

#include "suggest.hpp"

#include <backup_doctor/duration.hpp>
#include <backup_doctor/size.hpp>

#include <cctype>
#include <string_view>

namespace backup_doctor {
namespace {

// The schema node that describes the value at `path`, following properties, items and local
// references; null where the schema branches (anyOf) or says nothing.
const nlohmann::json* schema_at(const nlohmann::json& root, const std::vector<std::string>& path) {
  const nlohmann::json* node = resolve_ref(root, &root);
  for (const auto& token : path) {
    if (!node || !node->is_object()) return nullptr;
    if (node->contains("properties") && (*node)["properties"].contains(token))
      node = &(*node)["properties"][token];
    else if (node->contains("items") && (*node)["items"].is_object())
      node = &(*node)["items"];
    else if (node->contains("additionalProperties") && (*node)["additionalProperties"].is_object())
      node = &(*node)["additionalProperties"];
    else
      return nullptr;
    node = resolve_ref(root, node);
  }
  return node;
}

std::string shown(const nlohmann::json& v) {
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

std::string pattern_of(const nlohmann::json& node) {
  return node.contains("pattern") && node["pattern"].is_string()
             ? node["pattern"].get<std::string>()
             : std::string();
}

bool is_duration(const nlohmann::json& node) {
  std::string p = pattern_of(node);
  return p == sdk::kDurationPattern || p.find("(ms|s|m|h|d|w)") != std::string::npos;
}

bool is_size(const nlohmann::json& node) {
  if (!node.contains("anyOf") || !node["anyOf"].is_array()) return false;
  for (const auto& alt : node["anyOf"])
    if (pattern_of(alt) == sdk::kSizePattern) return true;
  return false;
}

std::string with_article(const std::string& type) {
  bool vowel = !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + type;
}

// "a string", "a string or a number": what the schema's "type" allows.
std::string expected_types(const nlohmann::json& node) {
  if (!node.contains("type")) return "another type";
  std::vector<std::string> types;
  if (node["type"].is_array())
    for (const auto& t : node["type"]) types.push_back(t.get<std::string>());
  else
    types.push_back(node["type"].get<std::string>());
  std::string out;
  for (size_t i = 0; i < types.size(); ++i)
    out += (i == 0 ? "" : i + 1 == types.size() ? " or " : ", ") + with_article(types[i]);
  return out;
}

std::string allowed_values(const nlohmann::json& node, const nlohmann::json* value) {
  std::vector<std::string> words;
  std::string list;
  for (const auto& v : node["enum"]) {
    list += (list.empty() ? "" : ", ") + shown(v);
    if (v.is_string()) words.push_back(v.get<std::string>());
  }
  std::string hint =
      value && value->is_string() ? did_you_mean(value->get<std::string>(), words) : "";
  return "is not one of " + list + hint;
}

std::string number_text(const nlohmann::json& v) {
  return v.is_number() ? v.dump() : "?";
}

// The complaint when the schema node is known; empty when it says nothing more specific.
std::string complaint_for(const nlohmann::json& node, const nlohmann::json* value,
                          const std::string& message) {
  if (is_duration(node)) return "is not a duration (examples: 90s, 25h, 7d, 1h30m)";
  if (is_size(node))
    return "is not a size (examples: 1048576, 500M, 10GiB; K, M, G and T are powers of 1024)";
  if (message.rfind("Value type not permitted", 0) == 0)
    return "is " + (value ? with_article(value->type_name()) : std::string("a value")) +
           ", expected " + expected_types(node);
  if (message.rfind("Failed to match against any enum", 0) == 0 && node.contains("enum"))
    return allowed_values(node, value);
  if (message.rfind("String should be no fewer than", 0) == 0 && node.contains("minLength"))
    return node["minLength"] == 1
               ? "is empty; give a value"
               : "is shorter than " + number_text(node["minLength"]) + " characters";
  if (message.rfind("String should be no more than", 0) == 0 && node.contains("maxLength"))
    return "is longer than " + number_text(node["maxLength"]) + " characters";
  if (message.rfind("Expected number greater than", 0) == 0 && node.contains("minimum"))
    return "is below the minimum of " + number_text(node["minimum"]);
  if (message.rfind("Expected number less than", 0) == 0 && node.contains("maximum"))
    return "is above the maximum of " + number_text(node["maximum"]);
  if (message.rfind("Failed to match regex", 0) == 0 && !pattern_of(node).empty())
    return "does not have the expected form (the pattern " + pattern_of(node) + ")";
  if (message.rfind("Failed to match expected value set by 'const'", 0) == 0 &&
      node.contains("const"))
    return "is not " + shown(node["const"]) + ", the only value allowed here";
  if (message.rfind("Elements at indexes", 0) == 0) return "lists the same item more than once";
  if (message.rfind("Array should contain no fewer than", 0) == 0 && node.contains("minItems"))
    return "needs at least " + number_text(node["minItems"]) + " item(s)";
  return {};
}

// valijson's own words, as a last resort: without the trailing period, lower-cased first.
std::string plain(std::string message) {
  if (!message.empty() && message.back() == '.') message.pop_back();
  if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
  return message;
}

}  // namespace

const nlohmann::json* resolve_ref(const nlohmann::json& root, const nlohmann::json* node) {
  for (int guard = 0; node && node->is_object() && node->contains("$ref") && guard < 16; ++guard) {
    const auto& ref = (*node)["$ref"];
    if (!ref.is_string() || ref.get<std::string>().rfind('#', 0) != 0) return node;
    auto pointer = nlohmann::json::json_pointer(ref.get<std::string>().substr(1));
    if (!root.contains(pointer)) return nullptr;
    node = &root.at(pointer);
  }
  return node;
}

const nlohmann::json* value_at(const nlohmann::json& doc, const std::vector<std::string>& path) {
  const nlohmann::json* v = &doc;
  for (const auto& token : path) {
    if (v->is_object() && v->contains(token))
      v = &(*v)[token];
    else if (v->is_array() && !token.empty() &&
             token.find_first_not_of("0123456789") == std::string::npos &&
             std::stoul(token) < v->size())
      v = &(*v)[std::stoul(token)];
    else
      return nullptr;
  }
  return v;
}

SchemaComplaint explain_schema_problem(const nlohmann::json& schema, const nlohmann::json& document,
                                       const std::vector<std::string>& path,
                                       const std::string& validator_message) {
  const std::string missing = "Missing required property '";
  if (validator_message.rfind(missing, 0) == 0) {
    std::string key = validator_message.substr(missing.size());
    key = key.substr(0, key.find('\''));
    return {"", "the required key '" + key + "' is missing"};
  }
  const nlohmann::json* value = value_at(document, path);
  const nlohmann::json* node = schema_at(schema, path);
  std::string complaint = node ? complaint_for(*node, value, validator_message) : std::string();
  if (complaint.empty()) complaint = plain(validator_message);
  return {value ? shown(*value) : std::string(), complaint};
}

}  // namespace backup_doctor
