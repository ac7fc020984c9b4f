// Keeps secrets out of everything the core writes: reports, logs and error messages.
// Every secret value resolved for a check is registered in the invocation's one instance
// (cli.cpp makes it); every output path scrubs with it: reports, the log sink, error lines.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor {

class Scrubber {
 public:
  static constexpr std::string_view kMask = "[REDACTED]";

  void add(std::string secret);
  bool empty() const { return secrets_.empty(); }

  // Replaces every occurrence of every registered secret.
  std::string scrub(std::string_view text) const;
  // The same for every string (keys included) inside a JSON value.
  nlohmann::json scrub_json(const nlohmann::json& value) const;

 private:
  std::vector<std::string> secrets_;  // unique, non-empty
};

}  // namespace backup_doctor
