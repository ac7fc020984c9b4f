#include "masking.hpp"

#include <backup_doctor/scrub.hpp>

namespace backup_doctor::s3 {

std::vector<std::string> maskable(const std::vector<std::string>& secrets) {
  std::vector<std::string> out;
  for (const auto& s : secrets)
    if (s.size() >= 4) out.push_back(s);
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  return sdk::scrub(text, maskable(secrets));
}

nlohmann::json scrub_json(const nlohmann::json& value, const std::vector<std::string>& secrets) {
  return sdk::scrub_json(value, maskable(secrets));
}

std::string mask_key_id(std::string_view key_id) {
  if (key_id.size() <= 4) return std::string(key_id.size(), '*');
  return std::string(key_id.size() - 4, '*') + std::string(key_id.substr(key_id.size() - 4));
}

}  // namespace backup_doctor::s3
