#include "scrubber.hpp"

#include <backup_doctor/scrub.hpp>

#include <algorithm>

namespace backup_doctor {

void Scrubber::add(std::string secret) {
  // Trailing newlines from secret files are stripped before use; mask the bare value.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
}

std::string Scrubber::scrub(std::string_view text) const {
  return sdk::scrub(text, secrets_, kMask);
}

nlohmann::json Scrubber::scrub_json(const nlohmann::json& value) const {
  return sdk::scrub_json(value, secrets_, kMask);
}

}  // namespace backup_doctor
