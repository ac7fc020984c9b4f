#include "scrubber.hpp"

#include <algorithm>

namespace backup_doctor {

void Scrubber::add(std::string secret) {
  // Trailing newlines from secret files are stripped before use; mask the bare value.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Scrubber::scrub(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

nlohmann::json Scrubber::scrub_json(const nlohmann::json& value) const {
  if (secrets_.empty()) return value;
  if (value.is_string()) return scrub(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(scrub_json(v));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[scrub(k)] = scrub_json(v);
    return out;
  }
  return value;
}

Scrubber& Scrubber::global() {
  static Scrubber instance;
  return instance;
}

}  // namespace backup_doctor
