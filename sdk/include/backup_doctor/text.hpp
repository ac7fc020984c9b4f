// Writing findings people read: commands they can paste, sizes and times they can take in at a
// glance. Shared by every plugin so that all of backup-doctor's messages look alike.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace backup_doctor::sdk {

// Quotes `word` for a POSIX shell when it needs it, so a remediation command can be pasted as it
// is: "/opt/backups" stays, "/opt/my backups" becomes '/opt/my backups', and a single quote
// inside becomes '\''. '~' is quoted too: unquoted at the start of a word the shell expands it.
inline std::string shell_quote(std::string_view word) {
  static constexpr std::string_view kPlain =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,=@%";
  if (!word.empty() && word.find_first_not_of(kPlain) == std::string_view::npos)
    return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Binary units as people read them: "812 B", "1.5 MiB", "5 MiB", "687 MiB", "1.2 TiB". One
// decimal below 10 (dropped when it is 0), none from 10 up. Exact byte counts belong in details
// and metrics; this is for summaries.
inline std::string human_size(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) value /= 1024, ++unit;
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (value < 10) {
    std::snprintf(buf, sizeof buf, "%.1f", value);
    std::string number = buf;
    if (number.size() > 2 && number.compare(number.size() - 2, 2, ".0") == 0)
      number.resize(number.size() - 2);
    if (number == "10") return "10 " + std::string(kUnits[unit]);  // 9.96 rounds up
    return number + " " + kUnits[unit];
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", value, kUnits[unit]);
  }
  return buf;
}

// "1 entry", "3 entries", "0 files": a count with its noun in the right number.
inline std::string count_of(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// UTC in ISO 8601 to the second: "2026-11-26T03:00:12Z".
inline std::string iso_time(int64_t seconds_since_epoch) {
  std::time_t t = static_cast<std::time_t>(seconds_since_epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The first `max` items of a list (a JSON array or any container of JSON-convertible values),
// as a JSON array: details list examples, not every one of ten thousand files.
template <typename List>
nlohmann::json capped(const List& items, size_t max) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) {
    if (out.size() >= max) break;
    out.push_back(item);
  }
  return out;
}

}  // namespace backup_doctor::sdk
