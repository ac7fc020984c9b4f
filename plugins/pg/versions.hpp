// PostgreSQL version numbers as servers and tools report them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::pg {

// server_version_num style: 150018 for 15.18, 90624 for 9.6.24.
// Parses the first version in `text`, e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-1)".
std::optional<int> parse_version_text(std::string_view text);

// The major release of a version number, comparable: 15 -> 1500, 9.6 -> 906.
int major_key(int version_num);
// "15", "9.6".
std::string major_name(int version_num);

}  // namespace backup_doctor::pg
