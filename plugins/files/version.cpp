#include "version.hpp"

#include <backup_doctor/sdk.hpp>

#include <regex>

namespace backup_doctor::files {

std::optional<std::string> find_version(const std::string& text, const std::string& regex) {
  std::smatch m;
  if (!regex.empty()) {
    std::regex re;
    try {
      re = std::regex(regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw sdk::CheckError("version_regex '" + regex +
                            "' is not a valid regular expression: " + e.what());
    }
    if (!std::regex_search(text, m, re)) return std::nullopt;
    return m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
  }
  static const std::regex dotted(R"((\d+(?:\.\d+)+))");
  static const std::regex bare(R"((?:^|[^\w.])v?(\d+)(?![\w.]))");
  if (std::regex_search(text, m, dotted)) return m[1].str();
  if (std::regex_search(text, m, bare)) return m[1].str();
  return std::nullopt;
}

namespace {
std::vector<unsigned long long> components(const std::string& v) {
  std::vector<unsigned long long> out;
  size_t i = 0;
  while (i < v.size()) {
    size_t end = v.find('.', i);
    if (end == std::string::npos) end = v.size();
    unsigned long long n = 0;
    for (size_t j = i; j < end && std::isdigit(static_cast<unsigned char>(v[j])); ++j)
      n = n * 10 + static_cast<unsigned long long>(v[j] - '0');
    out.push_back(n);
    i = end + 1;
  }
  while (!out.empty() && out.back() == 0) out.pop_back();
  return out;
}
}  // namespace

int compare_versions(const std::string& a, const std::string& b) {
  auto x = components(a), y = components(b);
  for (size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
    unsigned long long p = i < x.size() ? x[i] : 0, q = i < y.size() ? y[i] : 0;
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
}

}  // namespace backup_doctor::files
