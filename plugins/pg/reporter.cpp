#include "reporter.hpp"

#include <backup_doctor/scrub.hpp>

#include <algorithm>

namespace backup_doctor::pg {

namespace {

void walk_secrets(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "password" && it->is_string()) {
        std::string v = it->get<std::string>();
        if (!v.empty()) out.push_back(v);
      } else {
        walk_secrets(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) walk_secrets(v, out);
  }
}

}  // namespace

std::vector<std::string> collect_secrets(const nlohmann::json& params) {
  std::vector<std::string> out;
  walk_secrets(params, out);
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

Reporter::Reporter(sdk::Context& ctx, const nlohmann::json& params)
    : ctx_(ctx), secrets_(collect_secrets(params)) {}

std::string Reporter::scrub(std::string_view text) const {
  return sdk::scrub(text, secrets_);
}

nlohmann::json Reporter::scrub_json(const nlohmann::json& value) const {
  return sdk::scrub_json(value, secrets_);
}

void Reporter::report(sdk::Status status, std::string_view summary, std::string_view remediation,
                      const nlohmann::json& details) {
  nlohmann::json all = details;
  if (all.is_object())
    for (const auto& [key, value] : notes_.items())
      if (!all.contains(key)) all[key] = value;
  ctx_.report(status, scrub(summary), scrub(remediation), scrub_json(all));
}
void Reporter::ok(std::string_view summary, const nlohmann::json& details) {
  report(sdk::Status::ok, summary, {}, details);
}
void Reporter::warn(std::string_view summary, std::string_view remediation,
                    const nlohmann::json& details) {
  report(sdk::Status::warn, summary, remediation, details);
}
void Reporter::fail(std::string_view summary, std::string_view remediation,
                    const nlohmann::json& details) {
  report(sdk::Status::fail, summary, remediation, details);
}
void Reporter::error(std::string_view summary, std::string_view remediation,
                     const nlohmann::json& details) {
  report(sdk::Status::error, summary, remediation, details);
}
void Reporter::skip(std::string_view reason, const nlohmann::json& details) {
  report(sdk::Status::skipped, reason, {}, details);
}
void Reporter::metric(std::string_view name, double value, std::string_view unit,
                      const nlohmann::json& labels) {
  ctx_.metric(name, value, unit, scrub_json(labels));
}
void Reporter::info(std::string_view message) {
  ctx_.info(scrub(message));
}
void Reporter::note(const std::string& key, nlohmann::json value) {
  notes_[key] = std::move(value);
}

}  // namespace backup_doctor::pg
