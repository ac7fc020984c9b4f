// A count with its noun in prose output: "1 check", "2 checks" (never "1 checks").
#pragma once

#include <cstddef>
#include <string>

namespace backup_doctor {

// `plural` is only needed when adding "s" is wrong for the noun.
inline std::string counted(size_t n, const std::string& singular, const std::string& plural = {}) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural.empty() ? singular + "s" : plural);
}

}  // namespace backup_doctor
