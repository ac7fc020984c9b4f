// Durations as people write them in checklists: "30s", "25h", "7d", "1h30m", "500ms".
// Header-only so that the core and every plugin read them the same way.
#pragma once

#include <cctype>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::sdk {

// Returns the duration in milliseconds, or nothing when `text` is not a duration. Units: ms, s,
// m, h, d, w; several may follow each other in decreasing order ("1h30m"). A bare number is
// rejected: "30" could mean seconds or minutes, and guessing wrong hides a backup problem.
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long double total_ms = 0;
  int last_rank = 100;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return std::nullopt;
    long double number = 0;
    try {
      number = std::stold(std::string(text.substr(start, i - start)));
    } catch (...) {
      return std::nullopt;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    long double factor = 0;
    int rank = 0;
    if (unit == "ms")
      factor = 1, rank = 0;
    else if (unit == "s")
      factor = 1000, rank = 1;
    else if (unit == "m")
      factor = 60'000, rank = 2;
    else if (unit == "h")
      factor = 3'600'000, rank = 3;
    else if (unit == "d")
      factor = 86'400'000, rank = 4;
    else if (unit == "w")
      factor = 604'800'000, rank = 5;
    else
      return std::nullopt;
    if (rank >= last_rank) return std::nullopt;
    last_rank = rank;
    total_ms += number * factor;
  }
  // More milliseconds than a long long holds (292 million years) is no duration either.
  if (total_ms >= static_cast<long double>(std::numeric_limits<long long>::max()))
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

// "3d 4h", "25m 3s", "850ms": the largest two units, for messages.
inline std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  std::string sign;
  if (ms < 0) sign = "-", ms = -ms;
  if (ms < 1000) return sign + std::to_string(ms) + "ms";
  const struct {
    long long size;
    const char* name;
  } units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  std::string out;
  int parts = 0;
  for (const auto& u : units) {
    if (ms >= u.size || parts == 1) {
      long long n = ms / u.size;
      ms %= u.size;
      if (n == 0 && parts == 1) break;
      out += (out.empty() ? "" : " ") + std::to_string(n) + u.name;
      if (++parts == 2) break;
    }
  }
  return sign + out;
}

// JSON Schema fragment for a duration parameter, so that a typo fails validation up front.
inline constexpr const char* kDurationPattern =
    "^([0-9]+(\\.[0-9]+)?w)?([0-9]+(\\.[0-9]+)?d)?([0-9]+(\\.[0-9]+)?h)?([0-9]+(\\.[0-9]+)?m)?"
    "([0-9]+(\\.[0-9]+)?s)?([0-9]+ms)?$";

}  // namespace backup_doctor::sdk

// The 1.0 SDK declared these in backup_doctor itself; plugins written then still compile.
namespace backup_doctor {
using sdk::format_duration;
using sdk::kDurationPattern;
using sdk::parse_duration;
}  // namespace backup_doctor
