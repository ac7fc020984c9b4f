// Judging one PSI file against a check's thresholds, shared by the memory, cpu and io checks.
#pragma once

#include "figures.hpp"
#include "procfs.hpp"

#include <backup_doctor/findings.hpp>

#include <optional>
#include <string>

namespace backup_doctor::resources {

using nlohmann::json;

struct PressureLimits {
  int window = 1;  // 0 avg10, 1 avg60, 2 avg300
  std::optional<double> warn_some;
  // Applied to "full" when fail_on_full (memory, io), else to "some" (cpu).
  std::optional<double> fail;
  bool fail_on_full = true;
  bool required = true;
};

// The shared parameters: pressure_window, warn_pressure, fail_pressure, require_pressure.
PressureLimits pressure_limits(const json& params, double default_warn, double default_fail,
                               bool fail_on_full);
// The JSON Schema properties of those parameters (a fragment without braces).
std::string pressure_schema(const char* resource, double default_warn, double default_fail,
                            bool fail_on_full);

// Emits the <resource>_pressure_some/_full metrics, adds findings to `verdict` (with
// `remediation`), and returns the details object. A missing PSI file becomes not_evaluated
// when the limits require pressure.
json evaluate_pressure(const PressureReading& reading, const PressureLimits& limits,
                       const std::string& remediation, sdk::Findings& verdict, sdk::Context& ctx);

const char* window_name(int window);

}  // namespace backup_doctor::resources
