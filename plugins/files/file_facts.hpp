// What the files checks say about a filesystem entry: its mode as octal and as ls shows it, its
// type in words, its owner's groups, and the stat facts every check puts into its details.
#pragma once

#include <nlohmann/json.hpp>

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

std::optional<gid_t> lookup_group(const std::string& name_or_id);
// Every group the user is in (primary and supplementary).
std::vector<gid_t> user_groups(const std::string& name, gid_t primary);

double mtime_seconds(const struct stat& st);

// type, mode, permissions, owner, uid, group, gid, size, mtime: the facts about one filesystem
// entry that every check puts into its details.
json stat_details(const struct stat& st);

// The deepest existing ancestor of `path` (for "does not exist" messages).
std::string nearest_existing_ancestor(const std::string& path);

}  // namespace backup_doctor::files
