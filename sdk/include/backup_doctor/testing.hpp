// Runs a plugin's check without the core: for a plugin's own unit tests.
//
//   MyPlugin plugin;
//   auto r = backup_doctor::testing::run_check(plugin, "my.check", {{"path", "/tmp/x"}});
//   CHECK(r.status == backup_doctor::sdk::Status::fail);
//
// It goes through the same C thunks the core calls, so a check that throws or forgets to
// report behaves here as it does in a real run.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::testing {

struct Metric {
  std::string name;
  double value = 0;
  std::string unit;
  nlohmann::json labels;
};

struct Result {
  bd_rc rc = BD_RC_OK;
  bool reported = false;
  sdk::Status status = sdk::Status::error;
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
inline std::string str(bd_str s) {
  return std::string(s.data ? s.data : "", s.size);
}

inline const bd_host_api* recording_host() {
  static const bd_host_api host = {
      sizeof(bd_host_api),
      BD_ABI_MAJOR,
      BD_ABI_MINOR,
      [](bd_call* c, bd_status status, bd_str summary, bd_str remediation, bd_str details) {
        auto& r = of(c);
        r.reported = true;
        r.status = static_cast<sdk::Status>(status);
        r.summary = str(summary);
        r.remediation = str(remediation);
        r.details = details.size ? nlohmann::json::parse(str(details)) : nlohmann::json::object();
      },
      [](bd_call* c, bd_str name, double value, bd_str unit, bd_str labels) {
        of(c).metrics.push_back(
            {str(name), value, str(unit),
             labels.size ? nlohmann::json::parse(str(labels)) : nlohmann::json::object()});
      },
      [](bd_call* c, int32_t, bd_str message) { of(c).logs.push_back(str(message)); },
      [](bd_call*, double, bd_str) {},
      [](bd_call* c, bd_str message) { of(c).error = str(message); },
      [](bd_call*) -> int32_t { return 0; },
  };
  return &host;
}
}  // namespace detail

// Runs `type` of `plugin` with `params` through the plugin's C thunks.
template <typename P>
Result run_check(P& plugin, std::string_view type, const nlohmann::json& params) {
  Result result;
  std::string params_text = params.dump();
  result.rc = sdk::detail::Thunks<P>::run_check(&plugin, sdk::to_bd(type), sdk::to_bd(params_text),
                                                detail::recording_host(),
                                                reinterpret_cast<bd_call*>(&result));
  return result;
}

}  // namespace backup_doctor::testing
