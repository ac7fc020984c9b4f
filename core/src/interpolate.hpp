// ${var} and ${env:NAME} in checklist strings, and {"secret": {...}} parameter values.
#pragma once

#include "scrubber.hpp"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace backup_doctor {

struct InterpolationError {
  std::vector<std::string> path;  // where in the value
  std::string message;
  std::string remedy;  // what to do, when the problem is a missing secret
};

struct InterpolationContext {
  const nlohmann::json* vars = nullptr;                   // object of name -> string/number/bool
  std::function<const char*(const std::string&)> getenv;  // defaults to ::getenv
  // false: secrets become a placeholder and are not read (validate); true: they are read and
  // registered with `scrubber`.
  bool resolve_secrets = false;
  Scrubber* scrubber = nullptr;
  // Environment variables that the checklist reads secrets from: a value taken from one with
  // ${env:NAME} is a secret too, and is registered with `scrubber`.
  const std::set<std::string>* secret_env = nullptr;
};

// Every NAME of a {"secret": {"env": "NAME"}} anywhere in `value`.
void collect_secret_env(const nlohmann::json& value, std::set<std::string>& names);

// Every NAME of a ${NAME} (not ${env:...}) in the strings of `value`.
void collect_variable_refs(const nlohmann::json& value, std::set<std::string>& names);

// Returns `value` with every string interpolated and every secret object replaced by its value
// (or a placeholder). Problems go to `errors`; their paths are relative to `value`.
nlohmann::json interpolate(const nlohmann::json& value, const InterpolationContext& ctx,
                           std::vector<InterpolationError>& errors);

// Interpolates one string. A string that is exactly "${var}" takes the variable's JSON type.
nlohmann::json interpolate_string(const std::string& text, const InterpolationContext& ctx,
                                  std::string& error);

inline constexpr const char* kSecretPlaceholder = "<secret>";

}  // namespace backup_doctor
