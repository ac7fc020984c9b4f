// Helpers shared by the selinux checks (the parameter and text helpers come from the SDK).
#pragma once

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::selinux {

using nlohmann::json;

// From the SDK: parameter access, schema duration patterns, text for people.
using sdk::bool_param;
using sdk::count_param;
using sdk::duration_param;
using sdk::iso_time;
using sdk::shell_quote;
using sdk::string_list;
using sdk::string_param;
using sdk::with_duration_patterns;

std::string errno_text(int err);
double now_seconds();
bool has_glob_chars(std::string_view s);

}  // namespace backup_doctor::selinux
