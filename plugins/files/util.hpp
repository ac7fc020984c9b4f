// Small helpers shared by the files checks: path and mode formatting, users and groups, and
// the stat facts every check puts into its details (parameters and text come from the SDK).
#pragma once

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>

#include <sys/stat.h>
#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::files {

using nlohmann::json;

// What each check file hands to the plugin class.
struct CheckSpec {
  std::string type;
  std::string summary;
  std::string doc;
  std::string schema;  // JSON Schema text; "@duration@" patterns already replaced
  void (*run)(const json& params, sdk::Context& ctx);
};

// From the SDK: parameter access, schema duration patterns, text for people.
using sdk::duration_param;
using sdk::human_size;
using sdk::iso_time;
using sdk::required_string;
using sdk::shell_quote;
using sdk::string_list;
using sdk::with_duration_patterns;

// Octal mode with four digits: "0755". Only permission and special bits.
std::string mode_string(mode_t mode);
// "-rwxr-x---" style, as ls shows it.
std::string mode_symbolic(mode_t mode);
// Parses "700", "0700", "2750"; nothing when not octal or out of range.
std::optional<mode_t> parse_mode(std::string_view text);
// "u-w,g-rwx,o-rwx" for a set of permission bits to remove (or add with op '+').
std::string symbolic_bits(mode_t bits, char op);

// "file", "dir", "symlink", "fifo", "socket", "block device", "char device".
std::string type_name(mode_t mode);

std::string user_name(uid_t uid);   // name, or the number when unknown
std::string group_name(gid_t gid);  // name, or the number when unknown
std::optional<gid_t> lookup_group(const std::string& name_or_id);
// Every group the user is in (primary and supplementary).
std::vector<gid_t> user_groups(const std::string& name, gid_t primary);

double now_seconds();
double mtime_seconds(const struct stat& st);

std::string errno_text(int err);

bool has_glob_chars(std::string_view s);

// path, type, mode, owner, group, uid, gid, size, mtime: the facts about one filesystem entry.
json stat_details(const struct stat& st);

// Keeps at most `max` elements of a JSON array, returns it.
json capped(const json& array, size_t max);

// The deepest existing ancestor of `path` (for "does not exist" messages).
std::string nearest_existing_ancestor(const std::string& path);

}  // namespace backup_doctor::files
