// resources.cpu: load average per core and CPU pressure (PSI).
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include "figures.hpp"
#include "pressure.hpp"
#include "procfs.hpp"

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::errno_text;
using sdk::number_param;
using sdk::string_param;

namespace {

constexpr double kWarnPressure = 40, kFailPressure = 80;

std::string schema() {
  std::string text = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "proc_root": {"type": "string", "minLength": 1, "default": "/proc",
      "description": "Where procfs is mounted. Default /proc; tests point it at a fixture tree."},
    "load_window": {"type": "string", "enum": ["1m", "5m", "15m"], "default": "5m",
      "description": "Which load average to judge: over 1, 5 or 15 minutes. Default 5m."},
    "warn_load_per_core": {"type": "number", "minimum": 0, "default": 1.5,
      "description": "Warn when the load average divided by the number of online CPUs reaches this. Default 1.5."},
    "fail_load_per_core": {"type": "number", "minimum": 0, "default": 4,
      "description": "Fail when the load per CPU reaches this. Default 4."},
    @pressure@
  }
})";
  auto pos = text.find("@pressure@");
  text.replace(pos, 10, pressure_schema("cpu", kWarnPressure, kFailPressure, false));
  return text;
}

void run(const json& params, sdk::Context& ctx, const Hooks&) {
  std::string proc = string_param(params, "proc_root", "/proc");
  std::string window = string_param(params, "load_window", "5m");
  if (window != "1m" && window != "5m" && window != "15m")
    throw sdk::CheckError("load_window must be 1m, 5m or 15m, not \"" + window + "\"");
  double warn_load = number_param(params, "warn_load_per_core", 1.5);
  double fail_load = number_param(params, "fail_load_per_core", 4);
  auto limits = pressure_limits(params, kWarnPressure, kFailPressure, false);

  int err = 0;
  auto loadavg_text = read_file(proc + "/loadavg", &err);
  if (!loadavg_text) throw sdk::CheckError("cannot read " + proc + "/loadavg: " + errno_text(err));
  auto load = parse_loadavg(*loadavg_text);
  if (!load)
    throw sdk::CheckError(proc + "/loadavg does not parse: \"" + loadavg_text->substr(0, 100) +
                          "\"");
  auto stat_text = read_file(proc + "/stat", &err);
  if (!stat_text) throw sdk::CheckError("cannot read " + proc + "/stat: " + errno_text(err));
  int cores = count_cpus(*stat_text);
  if (cores <= 0) throw sdk::CheckError(proc + "/stat lists no cpuN line");

  double loads[3] = {load->load1, load->load5, load->load15};
  const char* names[3] = {"1m", "5m", "15m"};
  ctx.metric("cpu_cores", cores, "count");
  json load_details = json::object(), per_core = json::object();
  for (int i = 0; i < 3; ++i) {
    ctx.metric("load_average", loads[i], "", {{"window", names[i]}});
    ctx.metric("load_per_core", loads[i] / cores, "", {{"window", names[i]}});
    load_details[names[i]] = loads[i];
    per_core[names[i]] = loads[i] / cores;
  }
  int idx = window == "1m" ? 0 : window == "5m" ? 1 : 2;
  double judged = loads[idx] / cores;

  json details = {
      {"cores", cores},        {"load_average", load_details},    {"load_per_core", per_core},
      {"load_window", window}, {"runnable_tasks", load->running}, {"total_tasks", load->total}};
  sdk::Findings verdict;
  const std::string load_text = "load " + fixed1(loads[idx]) + " over " + window + " on " +
                                std::to_string(cores) + " CPU" + (cores == 1 ? "" : "s") + " (" +
                                fixed1(judged) + " per CPU)";
  // Linux counts tasks in uninterruptible sleep (usually waiting for disk) in the load.
  const std::string hint =
      "See what keeps the CPUs busy with `top -o %CPU` (or `ps -eo pid,stat,pcpu,comm "
      "--sort=-pcpu | head`); tasks in state D count too and point at slow storage. Start the "
      "backup with `nice -n 10`, use a cheaper compression level, or move the backup to a "
      "quieter hour.";
  if (judged >= fail_load)
    verdict.fail(load_text + ", limit " + fixed1(fail_load), hint);
  else if (judged >= warn_load)
    verdict.warn(load_text + ", limit " + fixed1(warn_load), hint);

  details["pressure"] = evaluate_pressure(read_pressure(proc, "cpu"), limits, hint, verdict, ctx);
  verdict.report(ctx, load_text, details, sdk::Findings::Style::list);
}

}  // namespace

sdk::CheckType cpu_check(const Hooks& hooks) {
  return {.type = "resources.cpu",
          .summary = "Load per CPU and CPU pressure",
          .doc =
              "Reads /proc/loadavg and counts the online CPUs in /proc/stat to judge the load per "
              "CPU, and reads /proc/pressure/cpu (PSI) for the share of time runnable tasks waited "
              "for a CPU. An overloaded host makes backups slow enough to overrun their window.",
          .params_schema = sdk::parse_schema(schema()),
          .run = [&hooks](const json& params, sdk::Context& ctx) { run(params, ctx, hooks); }};
}

}  // namespace backup_doctor::resources
