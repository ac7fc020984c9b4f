#include "result.hpp"

#include <ctime>
#include <functional>

namespace backup_doctor {

Status RunReport::overall() const {
  Status worst = interrupted ? Status::error : Status::ok;
  for (const auto& r : results) {
    Status w = r.unconfigured ? Status::error : weighted(r.status, r.severity);
    if (rank(w) > rank(worst)) worst = w;
  }
  return worst;
}

size_t RunReport::count(Status s) const {
  size_t n = 0;
  for (const auto& r : results) n += r.status == s;
  return n;
}

std::map<std::string, size_t> parameter_fingerprint(const nlohmann::json& params) {
  std::map<std::string, size_t> out;
  if (!params.is_object()) return out;
  // dump() is canonical for equal values (object keys are sorted).
  for (const auto& [key, value] : params.items()) out[key] = std::hash<std::string>{}(value.dump());
  return out;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace backup_doctor
