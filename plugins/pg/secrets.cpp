#include "secrets.hpp"

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

}  // namespace backup_doctor::pg
