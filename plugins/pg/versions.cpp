#include "versions.hpp"

#include <regex>

namespace backup_doctor::pg {

std::optional<int> parse_version_text(std::string_view text) {
  // After "(PostgreSQL) " when present, otherwise the first number-dot-number.
  static const std::regex tagged(R"(\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?)");
  static const std::regex bare(R"((\d+)\.(\d+)(?:\.(\d+))?)");
  std::string s(text);
  std::smatch m;
  if (!std::regex_search(s, m, tagged) && !std::regex_search(s, m, bare)) return std::nullopt;
  int a = std::stoi(m[1]);
  int b = m[2].matched ? std::stoi(m[2]) : 0;
  int c = m[3].matched ? std::stoi(m[3]) : 0;
  if (a >= 10) return a * 10000 + b;  // 10 and later: major.minor
  return a * 10000 + b * 100 + c;     // 9.6.24
}

int major_key(int v) {
  return v >= 100000 ? (v / 10000) * 100 : v / 100;
}

std::string major_name(int v) {
  if (v >= 100000) return std::to_string(v / 10000);
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100);
}

}  // namespace backup_doctor::pg
