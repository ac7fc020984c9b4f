// Helpers shared by the resources checks: size parameters, and the Verdict that collects
// findings into exactly one result (other parameters and text helpers come from the SDK).
#pragma once

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::resources {

using nlohmann::json;

// From the SDK: parameter access, schema duration patterns, shell quoting.
using sdk::duration_param;
using sdk::number_param;
using sdk::optional_duration;
using sdk::optional_number;
using sdk::shell_quote;
using sdk::string_list;
using sdk::string_param;
using sdk::with_duration_patterns;

// A size: an integer (bytes) or a string such as "500M", "10GiB", "2TB" (see parse_size).
std::optional<uint64_t> optional_size(const json& params, const char* key);

// "10G", "10GiB" and "10 GiB" are binary (1024^3); "10GB" is decimal (1000^3); "123" or "123B"
// are bytes. Nothing when the text is not a size.
std::optional<uint64_t> parse_size(std::string_view text);
// "1.5 GiB", "812 B" (sdk::human_size; figures computed as doubles, negative ones read as 0).
inline std::string human_size(double bytes) {
  return sdk::human_size(bytes > 0 ? static_cast<uint64_t>(bytes) : 0);
}
// "12.3" (one decimal), for percentages and loads in messages.
std::string fixed1(double value);

std::string errno_text(int err);
double now_seconds();

// Collects what a check found and reports it as one result: the worst status wins, the
// summary names every problem (worst first) and the remediation has one line per problem.
class Verdict {
 public:
  void warn(std::string summary, std::string remediation);
  void fail(std::string summary, std::string remediation);
  // A part of the check could not be evaluated (e.g. no PSI); turns an ok into skipped.
  void not_evaluated(std::string reason) { skipped_.push_back(std::move(reason)); }
  bool has_problems() const { return !findings_.empty(); }
  sdk::Status status() const;
  // Reports the result: `ok_summary` when nothing was found.
  void report(sdk::Context& ctx, const std::string& ok_summary, const json& details) const;

 private:
  struct Finding {
    sdk::Status status;
    std::string summary;
    std::string remediation;
  };
  std::vector<Finding> findings_;
  std::vector<std::string> skipped_;
};

}  // namespace backup_doctor::resources
