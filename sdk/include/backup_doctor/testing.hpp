// Runs a plugin's check without the core: for a plugin's own unit tests.
//
//   MyPlugin plugin;
//   auto r = backup_doctor::sdk::testing::run_check(plugin, "my.check", {{"path", "/tmp/x"}});
//   CHECK(r.status == backup_doctor::sdk::Status::fail);
//
// It goes through the same C thunks the core calls, so a check that throws or forgets to
// report behaves here as it does in a real run.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::sdk::testing {

struct Metric {
  std::string name;
  double value = 0;
  std::string unit;
  nlohmann::json labels;
};

struct Result {
  bd_rc rc = BD_RC_OK;
  bool reported = false;
  Status status = Status::error;
  std::string summary;
  std::string remediation;
  nlohmann::json details = nlohmann::json::object();
  std::vector<Metric> metrics;
  std::vector<std::string> logs;
  std::string error;  // message passed to host->error()

  const Metric* metric(std::string_view name) const {
    for (const auto& m : metrics)
      if (m.name == name) return &m;
    return nullptr;
  }
};

namespace detail {
inline Result& of(bd_call* call) {
  return *reinterpret_cast<Result*>(call);
}
inline nlohmann::json object_or_empty(bd_str s) {
  return s.size ? nlohmann::json::parse(from_bd(s)) : nlohmann::json::object();
}

inline const bd_host_api* recording_host() {
  static const bd_host_api host = {
      .struct_size = sizeof(bd_host_api),
      .abi_major = BD_ABI_MAJOR,
      .abi_minor = BD_ABI_MINOR,
      .report =
          [](bd_call* c, bd_status status, bd_str summary, bd_str remediation, bd_str details) {
            auto& r = of(c);
            r.reported = true;
            r.status = static_cast<Status>(status);
            r.summary = from_bd(summary);
            r.remediation = from_bd(remediation);
            r.details = object_or_empty(details);
          },
      .metric =
          [](bd_call* c, bd_str name, double value, bd_str unit, bd_str labels) {
            of(c).metrics.push_back({std::string(from_bd(name)), value, std::string(from_bd(unit)),
                                     object_or_empty(labels)});
          },
      .log = [](bd_call* c, int32_t, bd_str message) { of(c).logs.emplace_back(from_bd(message)); },
      .progress = [](bd_call*, double, bd_str) {},
      .error = [](bd_call* c, bd_str message) { of(c).error = from_bd(message); },
      .cancelled = [](bd_call*) -> int32_t { return 0; },
  };
  return &host;
}
}  // namespace detail

// Runs `type` of `plugin` with `params` through the plugin's C thunks.
template <typename P>
Result run_check(P& plugin, std::string_view type, const nlohmann::json& params) {
  Result result;
  std::string params_text = params.dump();
  result.rc = sdk::detail::Thunks<P>::run_check(&plugin, to_bd(type), to_bd(params_text),
                                                detail::recording_host(),
                                                reinterpret_cast<bd_call*>(&result));
  return result;
}

}  // namespace backup_doctor::sdk::testing

// The 1.0 SDK's spelling, backup_doctor::testing::run_check, still compiles.
namespace backup_doctor {
namespace testing = sdk::testing;
}  // namespace backup_doctor
