#include "util.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace backup_doctor::resources {

std::optional<uint64_t> optional_size(const json& params, const char* key) {
  if (!params.contains(key) || params[key].is_null()) return std::nullopt;
  const json& v = params[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string()) {
    if (auto s = parse_size(v.get<std::string>())) return s;
  }
  throw sdk::CheckError(std::string("parameter '") + key + "' is not a size: " + v.dump() +
                        " (write bytes as a number, or e.g. \"500M\", \"10GiB\", \"2TB\")");
}

std::optional<uint64_t> parse_size(std::string_view text) {
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
  std::string unit(text.substr(i));
  while (!unit.empty() && unit.back() == ' ') unit.pop_back();
  double factor = 1;
  if (!unit.empty() && unit != "B" && unit != "b") {
    static const std::string prefixes = "KMGTPE";
    char p = static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0])));
    size_t index = prefixes.find(p);
    if (index == std::string::npos) return std::nullopt;
    std::string rest = unit.substr(1);
    double base = 1024;
    if (rest == "B")
      base = 1000;  // "GB": decimal, as disk vendors count
    else if (!rest.empty() && rest != "iB" && rest != "i")
      return std::nullopt;
    factor = std::pow(base, static_cast<double>(index + 1));
  }
  double bytes = number * factor;
  if (!(bytes >= 0) || bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string fixed1(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Verdict::warn(std::string summary, std::string remediation) {
  findings_.push_back({sdk::Status::warn, std::move(summary), std::move(remediation)});
}

void Verdict::fail(std::string summary, std::string remediation) {
  findings_.push_back({sdk::Status::fail, std::move(summary), std::move(remediation)});
}

sdk::Status Verdict::status() const {
  sdk::Status worst = sdk::Status::ok;
  for (const auto& f : findings_)
    if (f.status == sdk::Status::fail)
      worst = sdk::Status::fail;
    else if (worst == sdk::Status::ok)
      worst = sdk::Status::warn;
  if (worst == sdk::Status::ok && !skipped_.empty()) return sdk::Status::skipped;
  return worst;
}

void Verdict::report(sdk::Context& ctx, const std::string& ok_summary, const json& details) const {
  json d = details;
  if (!skipped_.empty()) d["not_evaluated"] = skipped_;
  sdk::Status st = status();
  if (st == sdk::Status::ok) return ctx.ok(ok_summary, d);
  if (st == sdk::Status::skipped) {
    std::string summary;
    for (const auto& s : skipped_) summary += (summary.empty() ? "" : "; ") + s;
    return ctx.skip(summary + " (" + ok_summary + ")", d);
  }
  std::vector<const Finding*> sorted;
  for (const auto& f : findings_) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding* a, const Finding* b) {
    return a->status == sdk::Status::fail && b->status != sdk::Status::fail;
  });
  std::string summary, remediation;
  std::vector<std::string> seen;
  for (const auto* f : sorted) {
    summary += (summary.empty() ? "" : "; ") + f->summary;
    if (!f->remediation.empty() &&
        std::find(seen.begin(), seen.end(), f->remediation) == seen.end()) {
      seen.push_back(f->remediation);
      remediation += (remediation.empty() ? "" : "\n") + f->remediation;
    }
  }
  for (const auto& s : skipped_) summary += "; not evaluated: " + s;
  ctx.report(st, summary, remediation, d);
}

}  // namespace backup_doctor::resources
