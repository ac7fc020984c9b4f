// resources.memory: available memory, swap use and memory pressure (PSI).
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "figures.hpp"
#include "pressure.hpp"
#include "procfs.hpp"

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::errno_text;
using sdk::number_param;
using sdk::optional_size;
using sdk::string_param;

namespace {

constexpr double kWarnPressure = 10, kFailPressure = 10;

std::string schema() {
  std::string text = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "proc_root": {"type": "string", "minLength": 1, "default": "/proc",
      "description": "Where procfs is mounted. Default /proc; tests point it at a fixture tree."},
    "warn_available_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 10,
      "description": "Warn when MemAvailable is below this percentage of MemTotal. Default 10."},
    "fail_available_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 5,
      "description": "Fail when MemAvailable is below this percentage of MemTotal. Default 5."},
    "min_available": {"$ref": "bd:size",
      "description": "Fail when MemAvailable is below this many bytes (a number, or a size such as \"2G\"). Optional."},
    "warn_swap_used_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 50,
      "description": "Warn when more than this percentage of swap is in use. Default 50. Ignored without swap."},
    @pressure@
  }
})";
  auto pos = text.find("@pressure@");
  text.replace(pos, 10, pressure_schema("memory", kWarnPressure, kFailPressure, true));
  return text;
}

void run(const json& params, sdk::Context& ctx, const Hooks&) {
  std::string proc = string_param(params, "proc_root", "/proc");
  double warn_avail = number_param(params, "warn_available_percent", 10);
  double fail_avail = number_param(params, "fail_available_percent", 5);
  auto min_available = optional_size(params, "min_available");
  double warn_swap = number_param(params, "warn_swap_used_percent", 50);
  auto limits = pressure_limits(params, kWarnPressure, kFailPressure, true);

  int err = 0;
  auto text = read_file(proc + "/meminfo", &err);
  if (!text) throw sdk::CheckError("cannot read " + proc + "/meminfo: " + errno_text(err));
  auto mem = parse_meminfo(*text);
  if (!mem.count("MemTotal") || mem["MemTotal"] == 0)
    throw sdk::CheckError(proc + "/meminfo has no MemTotal line");
  double total = static_cast<double>(mem["MemTotal"]);
  // MemAvailable appeared in Linux 3.14; before that, free + page cache is the usual estimate.
  bool estimated = !mem.count("MemAvailable");
  double available = estimated
                         ? static_cast<double>(mem["MemFree"] + mem["Cached"] + mem["Buffers"])
                         : static_cast<double>(mem["MemAvailable"]);
  double avail_pct = available / total * 100.0;
  double swap_total = static_cast<double>(mem["SwapTotal"]);
  double swap_used = swap_total - static_cast<double>(mem["SwapFree"]);
  if (swap_used < 0) swap_used = 0;
  double swap_pct = swap_total > 0 ? swap_used / swap_total * 100.0 : 0.0;

  ctx.metric("memory_total", total, "bytes");
  ctx.metric("memory_available", available, "bytes");
  ctx.metric("memory_available", avail_pct, "percent");
  ctx.metric("swap_total", swap_total, "bytes");
  ctx.metric("swap_used", swap_used, "bytes");
  if (swap_total > 0) ctx.metric("swap_used", swap_pct, "percent");

  json details = {{"memory_total_bytes", total},
                  {"memory_available_bytes", available},
                  {"memory_available_percent", avail_pct},
                  {"memory_available_estimated", estimated},
                  {"swap_total_bytes", swap_total},
                  {"swap_used_bytes", swap_used},
                  {"swap_used_percent", swap_total > 0 ? json(swap_pct) : json(nullptr)}};
  sdk::Findings verdict;
  const std::string avail_text = human_size(available) + " (" + fixed1(avail_pct) + "%) of " +
                                 human_size(total) + " available";
  const std::string mem_hint =
      "Find what holds the memory with `ps aux --sort=-rss | head`; run backups when the "
      "application is quiet, lower pg_dump's parallel jobs (-j) or compression level, or add "
      "RAM. If the kernel killed a backup, `journalctl -k | grep -i 'out of memory'` shows it.";
  if (avail_pct < fail_avail)
    verdict.fail("only " + avail_text + " (limit " + fixed1(fail_avail) + "%)", mem_hint);
  else if (avail_pct < warn_avail)
    verdict.warn("only " + avail_text + " (limit " + fixed1(warn_avail) + "%)", mem_hint);
  if (min_available) {
    details["min_available_bytes"] = *min_available;
    if (available < static_cast<double>(*min_available))
      verdict.fail("only " + human_size(available) + " available, less than the required " +
                       human_size(static_cast<double>(*min_available)),
                   mem_hint);
  }
  if (swap_total > 0 && swap_pct > warn_swap)
    verdict.warn(fixed1(swap_pct) + "% of swap in use (" + human_size(swap_used) + " of " +
                     human_size(swap_total) + ", limit " + fixed1(warn_swap) + "%)",
                 "Heavy swapping slows backups and the application alike: see which processes "
                 "are swapped out with `grep VmSwap /proc/*/status | sort -k2 -n | tail`, and "
                 "reduce memory use or add RAM.");

  details["pressure"] =
      evaluate_pressure(read_pressure(proc, "memory"), limits, mem_hint, verdict, ctx);
  verdict.report(
      ctx, avail_text + (swap_total > 0 ? ", swap " + fixed1(swap_pct) + "% used" : ", no swap"),
      details, sdk::Findings::Style::list);
}

}  // namespace

sdk::CheckType memory_check(const Hooks& hooks) {
  return {
      .type = "resources.memory",
      .summary = "Available memory, swap use and memory pressure",
      .doc =
          "Reads MemAvailable, MemTotal and swap from /proc/meminfo and the memory pressure "
          "stall information (PSI) from /proc/pressure/memory. Low available memory or a high "
          "share of time in which tasks stalled waiting for memory explain backups that are "
          "killed (OOM) or crawl. Without PSI (kernels before 4.20) the result is skipped unless "
          "`require_pressure` is false or another figure already warns.",
      .params_schema = sdk::parse_schema(schema()),
      .run = [&hooks](const json& params, sdk::Context& ctx) { run(params, ctx, hooks); }};
}

}  // namespace backup_doctor::resources
