// Numbers in the resources checks' messages: sizes computed as doubles, percentages and loads
// with one decimal.
#pragma once

#include <backup_doctor/text.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace backup_doctor::resources {

// "1.5 GiB", "812 B" (sdk::human_size; figures computed as doubles, negative ones read as 0).
inline std::string human_size(double bytes) {
  return sdk::human_size(bytes > 0 ? static_cast<uint64_t>(bytes) : 0);
}

// "12.3" (one decimal), for percentages and loads in messages.
inline std::string fixed1(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

}  // namespace backup_doctor::resources
