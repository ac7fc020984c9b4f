// Masking secrets in what a check reports. The core masks every secret it resolved for a check
// (`{"secret": ...}` parameters) before anything leaves the run, but a plugin can learn secrets
// the core never saw (a password file, a token from a credentials chain, a password inside a
// connection string) and must mask those itself before they reach a summary, a detail or a log.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::sdk {

// Replaces every occurrence of each non-empty secret in `text` with `mask`. Longer secrets go
// first, so a secret that contains another is masked whole.
inline std::string scrub(std::string_view text, const std::vector<std::string>& secrets,
                         std::string_view mask = "***") {
  std::vector<const std::string*> order;
  for (const auto& s : secrets)
    if (!s.empty()) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const std::string* a, const std::string* b) {
    return a->size() > b->size();
  });
  std::string out(text);
  for (const std::string* secret : order) {
    for (size_t pos = out.find(*secret); pos != std::string::npos;
         pos = out.find(*secret, pos + mask.size()))
      out.replace(pos, secret->size(), mask);
  }
  return out;
}

// The same for every string in a JSON value, object keys included.
inline nlohmann::json scrub_json(const nlohmann::json& value,
                                 const std::vector<std::string>& secrets,
                                 std::string_view mask = "***") {
  if (secrets.empty()) return value;
  if (value.is_string()) return scrub(value.get_ref<const std::string&>(), secrets, mask);
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(scrub_json(v, secrets, mask));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items())
      out[scrub(k, secrets, mask)] = scrub_json(v, secrets, mask);
    return out;
  }
  return value;
}

}  // namespace backup_doctor::sdk
