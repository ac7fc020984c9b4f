// Reading a check's parameters inside its run function.
//
// The core validates every parameter against the check's JSON Schema before a run, so in a real
// run these functions mostly fill in defaults. A check can also run without the core (through
// backup_doctor/testing.hpp, or with a schema looser than the code); then a value of the wrong
// type still ends in a CheckError that names the parameter, never in a nlohmann::json exception.
// An absent key and a JSON null both mean "not given".
#pragma once

#include "duration.hpp"
#include "sdk.hpp"
#include "size.hpp"

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::sdk {

namespace detail {

inline const nlohmann::json* find_param(const nlohmann::json& params, std::string_view key) {
  if (!params.is_object()) return nullptr;
  auto it = params.find(std::string(key));
  if (it == params.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] inline void bad_param(std::string_view key, std::string_view problem) {
  throw CheckError("parameter '" + std::string(key) + "' " + std::string(problem));
}

}  // namespace detail

inline std::string string_param(const nlohmann::json& params, std::string_view key,
                                std::string_view fallback = {}) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) detail::bad_param(key, "must be a string");
  return v->get<std::string>();
}

// A string the check cannot do without; empty counts as missing.
inline std::string required_string(const nlohmann::json& params, std::string_view key) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty())
    detail::bad_param(key, "is required (a non-empty string)");
  return v->get<std::string>();
}

inline bool bool_param(const nlohmann::json& params, std::string_view key, bool fallback) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) detail::bad_param(key, "must be true or false");
  return v->get<bool>();
}

inline std::optional<double> optional_number(const nlohmann::json& params, std::string_view key) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) detail::bad_param(key, "must be a number");
  return v->get<double>();
}

inline double number_param(const nlohmann::json& params, std::string_view key, double fallback) {
  return optional_number(params, key).value_or(fallback);
}

// A count of things: an integer of at least 1.
inline size_t count_param(const nlohmann::json& params, std::string_view key, size_t fallback) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer() || v->get<long long>() < 1)
    detail::bad_param(key, "must be a positive integer");
  return static_cast<size_t>(v->get<long long>());
}

// A duration as written in checklists ("30s", "25h", "1h30m"; see duration.hpp).
inline std::optional<std::chrono::milliseconds> optional_duration(const nlohmann::json& params,
                                                                  std::string_view key) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) detail::bad_param(key, "must be a duration such as \"25h\"");
  auto d = parse_duration(v->get_ref<const std::string&>());
  if (!d)
    detail::bad_param(key, "is not a duration: \"" + v->get<std::string>() +
                               "\" (write e.g. \"30s\", \"25h\", \"7d\", \"1h30m\")");
  return d;
}

// `fallback` is the check's own default ("30s"); it must parse.
inline std::chrono::milliseconds duration_param(const nlohmann::json& params, std::string_view key,
                                                std::string_view fallback) {
  if (auto d = optional_duration(params, key)) return *d;
  auto d = parse_duration(fallback);
  if (!d) detail::bad_param(key, "has a default that is not a duration (a bug in the plugin)");
  return *d;
}

// A size: bytes as an integer, or a string such as "500M", "10GiB" (size.hpp: one unit rule).
inline std::optional<uint64_t> optional_size(const nlohmann::json& params, std::string_view key) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0)
    return static_cast<uint64_t>(v->get<int64_t>());
  if (v->is_string())
    if (auto size = parse_size(v->get_ref<const std::string&>())) return size;
  detail::bad_param(key, "is not a size: " + v->dump() +
                             " (write bytes as a number, or e.g. \"500M\", \"10GiB\", \"2TB\")");
}

// A list of strings; a single string counts as a list of one ("paths": "/a" or ["/a", "/b"]).
inline std::vector<std::string> string_list(const nlohmann::json& params, std::string_view key,
                                            std::vector<std::string> fallback = {}) {
  const nlohmann::json* v = detail::find_param(params, key);
  if (v == nullptr) return fallback;
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) detail::bad_param(key, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) detail::bad_param(key, "must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A check's JSON Schema text with every "@duration@" replaced by kDurationPattern (JSON-escaped),
// so schemas can be written as raw strings without spelling out the pattern's backslashes:
//   "max_age": {"type": "string", "pattern": "@duration@"}
inline std::string with_duration_patterns(std::string_view schema_text) {
  static constexpr std::string_view kMarker = "@duration@";
  std::string pattern = nlohmann::json(kDurationPattern).dump();
  pattern = pattern.substr(1, pattern.size() - 2);  // escaped, without the quotes
  std::string out(schema_text);
  for (size_t pos = out.find(kMarker); pos != std::string::npos; pos = out.find(kMarker, pos)) {
    out.replace(pos, kMarker.size(), pattern);
    pos += pattern.size();
  }
  return out;
}

}  // namespace backup_doctor::sdk
