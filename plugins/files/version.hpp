// Version numbers as tools print them ("GNU tar 1.34", "pg_dump (PostgreSQL) 15.14",
// "rsync  version 3.2.7  protocol version 31") and their comparison.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::files {

// The first dotted number in `text` ("1.34", "15.14", "3.2.7"); with `regex` (ECMAScript),
// its first capture group (or whole match). A bare number ("2") is accepted when nothing dotted
// is found. Nothing when no version is there.
std::optional<std::string> find_version(const std::string& text, const std::string& regex = {});

// Compares numerically component by component ("1.10" > "1.9"; "15" == "15.0"); anything after
// the leading digits of a component ("3rc1") is ignored. Returns <0, 0, >0.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace backup_doctor::files
