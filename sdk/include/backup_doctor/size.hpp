// Byte sizes as people write them in checklists: 500M, 10GiB, 2 TB, 8MB, 4096.
//
// One rule everywhere: K, M, G, T, P and E are powers of 1024, whether written alone ("10G"),
// with B ("10GB") or with iB ("10GiB"), as df -h, the AWS CLI's own settings and systemd count.
// A plain number, or one with "B", is bytes. A size must never be read two ways: a multipart
// part size of "8MB" has to be the 8 MiB the AWS CLI used, or every ETag comparison fails.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::sdk {

// Nothing when `text` is not a size.
inline std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  size_t start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == start) return std::nullopt;
  double number = 0;
  try {
    number = std::stod(std::string(text.substr(start, i - start)));
  } catch (...) {
    return std::nullopt;
  }
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit;
  for (; i < text.size(); ++i) unit.push_back(static_cast<char>(std::toupper(text[i])));
  while (!unit.empty() && unit.back() == ' ') unit.pop_back();
  double factor = 1;
  if (!unit.empty() && unit != "B") {
    static constexpr std::string_view kPrefixes = "KMGTPE";
    size_t index = kPrefixes.find(unit[0]);
    std::string rest = unit.substr(1);
    if (index == std::string_view::npos || (!rest.empty() && rest != "B" && rest != "IB"))
      return std::nullopt;
    factor = std::pow(1024.0, static_cast<double>(index + 1));
  }
  double bytes = number * factor;
  if (!(bytes >= 0) || bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(std::llround(bytes));
}

// JSON Schema pattern of the strings parse_size reads (a size may also be an integer).
inline constexpr const char* kSizePattern =
    "^ *[0-9]+(\\.[0-9]+)? *([kKmMgGtTpPeE]([iI]?[bB])?|[bB])? *$";

}  // namespace backup_doctor::sdk
