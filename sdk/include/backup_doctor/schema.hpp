// A check's parameter schema: JSON Schema (draft 7) text, with building blocks for the kinds of
// value every plugin takes, so a duration or a size is validated, and documented, the same way
// in every check.
//
//   .params_schema = sdk::parse_schema(R"({
//     "type": "object", "additionalProperties": false, "required": ["path"],
//     "properties": {
//       "path": {"type": "string", "minLength": 1, "description": "Directory of the backups"},
//       "max_age": {"$ref": "bd:duration", "default": "25h", "description": "Oldest acceptable"},
//       "min_size": {"$ref": "bd:size", "description": "Smallest acceptable newest backup"}}})")
//
// Each {"$ref": "bd:NAME", ...} is replaced by the block, merged with the keys written beside
// "$ref" (those win). Blocks:
//   bd:duration  a string such as "30s", "25h", "1h30m" (duration.hpp)
//   bd:size      bytes as an integer, or a string such as "500M", "10GiB" (size.hpp: one rule)
//   bd:target_path, bd:target_pattern
//                which file a check looks at: a file, or the newest file matching `pattern` in a
//                directory, or a directory and glob in one (`/opt/backups/files/*.tar.gz`)
// A "pattern" of "@duration@" (the 1.0 SDK's way, see with_duration_patterns) still works.
#pragma once

#include "duration.hpp"
#include "params.hpp"
#include "size.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace backup_doctor::sdk {

// The same blocks for schemas built in code; an empty description or default is left out.
inline nlohmann::json duration_schema(std::string_view description = {},
                                      std::string_view default_value = {}) {
  nlohmann::json s = {{"type", "string"}, {"minLength", 1}, {"pattern", kDurationPattern}};
  if (!description.empty()) s["description"] = description;
  if (!default_value.empty()) s["default"] = default_value;
  return s;
}

inline nlohmann::json size_schema(std::string_view description = {}) {
  nlohmann::json s = {
      {"anyOf", nlohmann::json::array({{{"type", "integer"}, {"minimum", 0}},
                                       {{"type", "string"}, {"pattern", kSizePattern}}})}};
  if (!description.empty()) s["description"] = description;
  return s;
}

// The two parameters that name a check's target file: `path` and `pattern`.
inline nlohmann::json target_path_schema() {
  return {{"type", "string"},
          {"minLength", 1},
          {"description",
           "A file; or a directory, whose newest file matching `pattern` is used; or a directory "
           "and glob in one (`/opt/backups/files/*.tar.gz`)."}};
}

inline nlohmann::json target_pattern_schema() {
  return {{"type", "string"},
          {"minLength", 1},
          {"default", "*"},
          {"description", "Glob for the file name when `path` is a directory. Default `*`."}};
}

namespace detail {

inline nlohmann::json schema_block(const std::string& name) {
  if (name == "bd:duration") return duration_schema();
  if (name == "bd:size") return size_schema();
  if (name == "bd:target_path") return target_path_schema();
  if (name == "bd:target_pattern") return target_pattern_schema();
  throw std::invalid_argument(
      "parameter schema: unknown building block \"" + name +
      "\" (known: bd:duration, bd:size, bd:target_path, bd:target_pattern)");
}

inline void expand_blocks(nlohmann::json& node) {
  if (node.is_array()) {
    for (auto& item : node) expand_blocks(item);
    return;
  }
  if (!node.is_object()) return;
  auto ref = node.find("$ref");
  if (ref != node.end() && ref->is_string() &&
      ref->get_ref<const std::string&>().rfind("bd:", 0) == 0) {
    nlohmann::json block = schema_block(ref->get<std::string>());
    node.erase("$ref");
    block.update(node);  // the keys written beside "$ref" win
    node = std::move(block);
  }
  for (auto& [key, value] : node.items()) expand_blocks(value);
}

}  // namespace detail

// The schema `text` describes, building blocks expanded. Throws on text that is not JSON (a bug
// in the plugin, found the first time describe() runs).
inline nlohmann::json parse_schema(std::string_view text) {
  nlohmann::json schema = nlohmann::json::parse(with_duration_patterns(text));
  detail::expand_blocks(schema);
  return schema;
}

}  // namespace backup_doctor::sdk
