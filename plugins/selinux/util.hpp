// Helpers shared by the selinux checks: parameter reading and message formatting.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::selinux {

using nlohmann::json;

// Replaces every "@duration@" in a schema text with backup_doctor::kDurationPattern.
std::string finish_schema(std::string_view schema_text);

std::string string_param(const json& params, const char* key, const char* fallback);
bool bool_param(const json& params, const char* key, bool fallback);
size_t count_param(const json& params, const char* key, size_t fallback);
std::chrono::milliseconds duration_param(const json& params, const char* key, const char* fallback);
std::vector<std::string> string_list(const json& params, const char* key,
                                     std::vector<std::string> fallback);

// Single-quotes a word for a shell command shown to the operator when it needs quoting.
std::string shell_quote(std::string_view s);
std::string errno_text(int err);
double now_seconds();
// "2024-11-29T10:00:00Z"
std::string iso_time(double seconds);
bool has_glob_chars(std::string_view s);

}  // namespace backup_doctor::selinux
