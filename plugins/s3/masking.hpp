// Keeping credentials out of what the s3 checks say: which secrets are worth masking, masking
// them in text and JSON, and an access key id shown as `aws configure list` shows it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::s3 {

// The secrets worth masking: credentials shorter than 4 characters are no real keys, and masking
// them would mangle ordinary words.
std::vector<std::string> maskable(const std::vector<std::string>& secrets);

// Removes every occurrence of each maskable secret from `text`.
std::string scrub(std::string text, const std::vector<std::string>& secrets);
// The same for every string inside a JSON value.
nlohmann::json scrub_json(const nlohmann::json& value, const std::vector<std::string>& secrets);

// Masks an access key id the way `aws configure list` does: only the last 4 characters.
std::string mask_key_id(std::string_view key_id);

}  // namespace backup_doctor::s3
