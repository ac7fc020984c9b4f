#include "pressure.hpp"
#include <backup_doctor/params.hpp>

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::number_param;
using sdk::string_param;

const char* window_name(int window) {
  return window == 0 ? "avg10" : window == 2 ? "avg300" : "avg60";
}

static const char* window_words(int window) {
  return window == 0 ? "10 s" : window == 2 ? "5 min" : "60 s";
}

PressureLimits pressure_limits(const json& params, double default_warn, double default_fail,
                               bool fail_on_full) {
  PressureLimits l;
  std::string w = string_param(params, "pressure_window", "avg60");
  if (w == "avg10")
    l.window = 0;
  else if (w == "avg60")
    l.window = 1;
  else if (w == "avg300")
    l.window = 2;
  else
    throw sdk::CheckError("pressure_window must be avg10, avg60 or avg300, not \"" + w + "\"");
  l.warn_some = number_param(params, "warn_pressure", default_warn);
  l.fail = number_param(params, "fail_pressure", default_fail);
  l.fail_on_full = fail_on_full;
  if (params.contains("require_pressure") && params["require_pressure"].is_boolean())
    l.required = params["require_pressure"].get<bool>();
  return l;
}

std::string pressure_schema(const char* resource, double default_warn, double default_fail,
                            bool fail_on_full) {
  std::string r = resource;
  std::string fail_line = fail_on_full ? "\"full\"" : "\"some\"";
  json props = {
      {"pressure_window",
       {{"type", "string"},
        {"enum", {"avg10", "avg60", "avg300"}},
        {"default", "avg60"},
        {"description", "Which PSI average of /proc/pressure/" + r +
                            " to judge: over the last 10 s, 60 s or 5 min. Default avg60."}}},
      {"warn_pressure",
       {{"type", "number"},
        {"minimum", 0},
        {"maximum", 100},
        {"default", default_warn},
        {"description", "Warn when the \"some\" " + r +
                            " pressure (percent of time at least one task stalled on " + r +
                            ") reaches this. Default " + fixed1(default_warn) + "."}}},
      {"fail_pressure",
       {{"type", "number"},
        {"minimum", 0},
        {"maximum", 100},
        {"default", default_fail},
        {"description", "Fail when the " + fail_line + " " + r +
                            " pressure reaches this percentage. Default " + fixed1(default_fail) +
                            "."}}},
      {"require_pressure",
       {{"type", "boolean"},
        {"default", true},
        {"description",
         "When true (default), a kernel without PSI makes the result skipped unless another "
         "figure already warns or fails. Set false on older kernels to judge by the other "
         "figures alone."}}},
  };
  std::string text = props.dump();
  return text.substr(1, text.size() - 2);
}

json evaluate_pressure(const PressureReading& reading, const PressureLimits& limits,
                       const std::string& remediation, sdk::Findings& verdict, sdk::Context& ctx) {
  json d = {{"file", reading.path}, {"available", reading.available}};
  if (!reading.available) {
    d["reason"] = reading.reason;
    if (limits.required)
      verdict.not_evaluated(reading.resource + " pressure (PSI) unavailable: " + reading.reason);
    return d;
  }
  const auto& psi = reading.psi;
  auto line_json = [](const PsiLine& l) {
    return json{{"avg10", l.avg[0]},
                {"avg60", l.avg[1]},
                {"avg300", l.avg[2]},
                {"total_stall_seconds", static_cast<double>(l.total_us) / 1e6}};
  };
  d["some"] = line_json(psi.some);
  if (psi.full) d["full"] = line_json(*psi.full);
  d["window"] = window_name(limits.window);

  const std::string& r = reading.resource;
  for (int w = 0; w < 3; ++w) {
    ctx.metric(r + "_pressure_some", psi.some.avg[w], "percent", {{"window", window_name(w)}});
    if (psi.full)
      ctx.metric(r + "_pressure_full", psi.full->avg[w], "percent", {{"window", window_name(w)}});
  }
  ctx.metric(r + "_pressure_some_stall", static_cast<double>(psi.some.total_us) / 1e6, "seconds");
  if (psi.full)
    ctx.metric(r + "_pressure_full_stall", static_cast<double>(psi.full->total_us) / 1e6,
               "seconds");

  double some = psi.some.avg[limits.window];
  const bool have_fail_value = !limits.fail_on_full || psi.full.has_value();
  const double fail_value =
      limits.fail_on_full ? (psi.full ? psi.full->avg[limits.window] : 0.0) : some;
  const char* fail_kind = limits.fail_on_full ? "full" : "some";
  std::string over = " over the last " + std::string(window_words(limits.window));
  if (limits.fail && have_fail_value && fail_value >= *limits.fail) {
    std::string who = limits.fail_on_full ? "all non-idle tasks" : "runnable tasks";
    verdict.fail(r + " pressure " + fail_kind + " " + fixed1(fail_value) + "%" + over + " (limit " +
                     fixed1(*limits.fail) + "%): " + who + " were stalled on " + r,
                 remediation);
  } else if (limits.warn_some && some >= *limits.warn_some) {
    verdict.warn(r + " pressure some " + fixed1(some) + "%" + over + " (limit " +
                     fixed1(*limits.warn_some) + "%)",
                 remediation);
  }
  return d;
}

}  // namespace backup_doctor::resources
