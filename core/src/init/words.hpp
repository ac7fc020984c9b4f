// Small text helpers every reader in init shares.
#pragma once

#include <cctype>
#include <sstream>
#include <string>

namespace backup_doctor::init {

// Without leading and trailing blanks (spaces, tabs, carriage returns).
inline std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The last component of a path, as basename(1) gives it ("/a/b/" -> "b").
inline std::string base_name(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// Calls fn(line_number, trimmed_line) for each line of a config file that is neither blank nor
// a # comment, until fn returns false (crontabs, postgresql.conf).
template <class F>
void for_each_content_line(const std::string& text, F fn) {
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (!fn(number, t)) return;
  }
}

}  // namespace backup_doctor::init
