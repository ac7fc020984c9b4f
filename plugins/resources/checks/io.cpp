// resources.io: I/O pressure (PSI) and, for the block device behind a path, utilization and
// request latency sampled from /proc/diskstats over a short window, as `iostat -x` shows them.
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include "figures.hpp"
#include "pressure.hpp"
#include "procfs.hpp"

#include <sys/stat.h>
#include <cerrno>

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::duration_param;
using sdk::errno_text;
using sdk::number_param;
using sdk::optional_number;
using sdk::string_param;

namespace {

constexpr double kWarnPressure = 20, kFailPressure = 25;

std::string schema() {
  std::string text = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "path": {"type": "string", "minLength": 1,
      "description": "A path on the filesystem to judge (e.g. /opt/backups): its block device is found through its st_dev and /sys/dev/block/MAJ:MIN and sampled. Optional: without path or device only I/O pressure is judged."},
    "device": {"type": "string", "minLength": 1,
      "description": "The block device to sample instead of the one behind path: a kernel name (\"sda\", \"nvme0n1\", \"dm-0\") or \"MAJ:MIN\". Optional."},
    "sample": {"$ref": "bd:duration", "default": "1s",
      "description": "How long to watch the device between the two reads of /proc/diskstats. Default 1s."},
    "warn_util_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 90,
      "description": "Warn when the device was busy (iostat %util) for at least this share of the sample. Default 90. On SSDs and NVMe, which serve many requests at once, a high %util alone does not mean saturation; await is the better sign."},
    "fail_util_percent": {"type": "number", "minimum": 0, "maximum": 100,
      "description": "Fail when %util reaches this. Optional (not judged by default)."},
    "warn_await_ms": {"type": "number", "minimum": 0, "default": 100,
      "description": "Warn when the average time a request took (iostat await, queueing included) reaches this many milliseconds. Default 100."},
    "fail_await_ms": {"type": "number", "minimum": 0, "default": 1000,
      "description": "Fail when await reaches this many milliseconds. Default 1000."},
    "proc_root": {"type": "string", "minLength": 1, "default": "/proc",
      "description": "Where procfs is mounted. Default /proc; tests point it at a fixture tree."},
    "sys_root": {"type": "string", "minLength": 1, "default": "/sys",
      "description": "Where sysfs is mounted. Default /sys; tests point it at a fixture tree."},
    @pressure@
  }
})";
  auto pos = text.find("@pressure@");
  text.replace(pos, 10, pressure_schema("io", kWarnPressure, kFailPressure, true));
  return text;
}

const DiskStat* find_stat(const std::vector<DiskStat>& all, const BlockDevice& dev) {
  for (const auto& d : all)
    if (d.major == dev.major && d.minor == dev.minor) return &d;
  for (const auto& d : all)
    if (d.name == dev.name) return &d;
  return nullptr;
}

std::vector<DiskStat> read_diskstats(const std::string& proc) {
  int err = 0;
  auto text = read_file(proc + "/diskstats", &err);
  if (!text) throw sdk::CheckError("cannot read " + proc + "/diskstats: " + errno_text(err));
  return parse_diskstats(*text);
}

const char* const kIoHint =
    "Find the processes doing the I/O with `pidstat -d 1 5` or `iotop -o`; run the backup "
    "under `ionice -c 3` (idle class) so the application keeps priority, move the backup "
    "target to another disk than the database, or schedule the backup at a quieter hour.";

// The device named by `device`, else the one behind `path` (none found: said in the details).
std::optional<BlockDevice> device_to_sample(const std::string& sys, const std::string& proc,
                                            const std::string& device_spec, const std::string& path,
                                            json& details) {
  std::optional<BlockDevice> dev;
  std::string why;
  if (!device_spec.empty()) {
    dev = block_device_named(sys, proc, device_spec, &why);
    if (!dev)
      throw sdk::CheckError(why + "; list the devices with `lsblk` and give a name from it");
  } else if (!path.empty()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      throw sdk::CheckError("cannot stat " + path + ": " + errno_text(errno));
    dev = block_device_for(sys, proc, st.st_dev, path, &why);
    if (!dev) details["device_not_found"] = why;
  }
  return dev;
}

// The device's rates over the sample: /proc/diskstats read before and after it.
struct Sampled {
  DiskRates rates;
  double ms = 0;
  uint64_t in_flight = 0;
};

Sampled sample_device(const std::string& proc, const BlockDevice& dev,
                      std::chrono::milliseconds sample, const Hooks& hooks, sdk::Context& ctx) {
  auto first = read_diskstats(proc);
  const DiskStat* a = find_stat(first, dev);
  if (!a)
    throw sdk::CheckError("device " + dev.name + " (" + std::to_string(dev.major) + ":" +
                          std::to_string(dev.minor) + ") is not in " + proc + "/diskstats");
  DiskStat before = *a;
  auto elapsed = hooks.wait(sample, ctx);
  auto second = read_diskstats(proc);
  const DiskStat* b = find_stat(second, dev);
  if (!b) throw sdk::CheckError("device " + dev.name + " disappeared from " + proc + "/diskstats");
  double ms = static_cast<double>(elapsed.count());
  if (ms <= 0) throw sdk::CheckError("the sample window was empty (cancelled?)");
  return {disk_rates(before, *b, ms), ms, b->in_flight()};
}

void report_device_figures(const BlockDevice& dev, const Sampled& s, json& details,
                           sdk::Context& ctx) {
  const DiskRates& r = s.rates;
  json labels = {{"device", dev.name}};
  details["sample_seconds"] = s.ms / 1000.0;
  details["stats"] = {{"reads_per_second", r.reads_per_s},
                      {"writes_per_second", r.writes_per_s},
                      {"read_bytes_per_second", r.read_bytes_per_s},
                      {"write_bytes_per_second", r.write_bytes_per_s},
                      {"r_await_ms", r.r_await_ms},
                      {"w_await_ms", r.w_await_ms},
                      {"await_ms", r.await_ms},
                      {"queue_size", r.queue_size},
                      {"util_percent", r.util_percent},
                      {"requests", r.ios},
                      {"in_flight", s.in_flight}};
  ctx.metric("io_utilization", r.util_percent, "percent", labels);
  ctx.metric("io_await", r.await_ms / 1000.0, "seconds", labels);
  ctx.metric("io_read_await", r.r_await_ms / 1000.0, "seconds", labels);
  ctx.metric("io_write_await", r.w_await_ms / 1000.0, "seconds", labels);
  ctx.metric("io_read_throughput", r.read_bytes_per_s, "bytes", labels);
  ctx.metric("io_write_throughput", r.write_bytes_per_s, "bytes", labels);
  ctx.metric("io_reads_per_second", r.reads_per_s, "", labels);
  ctx.metric("io_writes_per_second", r.writes_per_s, "", labels);
  ctx.metric("io_queue_size", r.queue_size, "", labels);
}

// The limits the checklist sets on the device.
struct DeviceLimits {
  double warn_util;
  std::optional<double> fail_util;
  double warn_await, fail_await;
};

// Too busy, or requests too slow; returns the ok text for the device.
std::string judge_device(const BlockDevice& dev, const Sampled& s, const DeviceLimits& l,
                         sdk::Findings& verdict) {
  const DiskRates& r = s.rates;
  std::string dev_text = dev.name + (dev.mapper_name.empty() ? "" : " (" + dev.mapper_name + ")");
  if (l.fail_util && r.util_percent >= *l.fail_util)
    verdict.fail(dev_text + " was busy " + fixed1(r.util_percent) + "% of the sample (limit " +
                     fixed1(*l.fail_util) + "%)",
                 kIoHint);
  else if (r.util_percent >= l.warn_util)
    verdict.warn(dev_text + " was busy " + fixed1(r.util_percent) + "% of the sample (limit " +
                     fixed1(l.warn_util) + "%)",
                 kIoHint);
  if (r.ios > 0) {
    std::string await_text = dev_text + " requests took " + fixed1(r.await_ms) +
                             " ms on average (read " + fixed1(r.r_await_ms) + " ms, write " +
                             fixed1(r.w_await_ms) + " ms)";
    std::string slow_hint =
        std::string(kIoHint) +
        " Latency this high can also mean a failing disk: look for I/O errors with "
        "`dmesg | grep -i -e 'I/O error' -e reset` and `smartctl -a /dev/" +
        (dev.parent.empty() ? dev.name : dev.parent) + "`.";
    if (r.await_ms >= l.fail_await)
      verdict.fail(await_text + ", limit " + fixed1(l.fail_await) + " ms", slow_hint);
    else if (r.await_ms >= l.warn_await)
      verdict.warn(await_text + ", limit " + fixed1(l.warn_await) + " ms", slow_hint);
  }
  return dev_text + " " + fixed1(r.util_percent) + "% busy, await " + fixed1(r.await_ms) +
         " ms over " + fixed1(s.ms / 1000.0) + " s";
}

void run(const json& params, sdk::Context& ctx, const Hooks& hooks) {
  std::string proc = string_param(params, "proc_root", "/proc");
  std::string sys = string_param(params, "sys_root", "/sys");
  std::string path = string_param(params, "path", "");
  std::string device_spec = string_param(params, "device", "");
  auto sample = duration_param(params, "sample", "1s");
  if (sample.count() <= 0) throw sdk::CheckError("sample must be longer than 0");
  DeviceLimits device_limits{
      number_param(params, "warn_util_percent", 90), optional_number(params, "fail_util_percent"),
      number_param(params, "warn_await_ms", 100), number_param(params, "fail_await_ms", 1000)};
  auto limits = pressure_limits(params, kWarnPressure, kFailPressure, true);

  sdk::Findings verdict;
  json details = json::object();
  std::optional<BlockDevice> dev = device_to_sample(sys, proc, device_spec, path, details);
  if (!path.empty()) details["path"] = path;

  std::string ok_text;
  if (dev) {
    details["device"] = {
        {"name", dev->name},
        {"major", dev->major},
        {"minor", dev->minor},
        {"parent", dev->parent.empty() ? json(nullptr) : json(dev->parent)},
        {"mapper_name", dev->mapper_name.empty() ? json(nullptr) : json(dev->mapper_name)}};
    Sampled s = sample_device(proc, *dev, sample, hooks, ctx);
    report_device_figures(*dev, s, details, ctx);
    ok_text = judge_device(*dev, s, device_limits, verdict);
  }

  auto pressure = read_pressure(proc, "io");
  details["pressure"] = evaluate_pressure(pressure, limits, kIoHint, verdict, ctx);
  if (pressure.available) {
    std::string p = "io pressure some " + fixed1(pressure.psi.some.avg[limits.window]) + "% (" +
                    window_name(limits.window) + ")";
    ok_text = ok_text.empty() ? p : ok_text + ", " + p;
  }
  if (!ok_text.empty() && details.contains("device_not_found"))
    ok_text += " (no disk sampled: " + details["device_not_found"].get<std::string>() + ")";
  if (ok_text.empty()) {
    // Nothing could be measured at all: no device to sample and no PSI.
    std::string reason = details.contains("device_not_found")
                             ? details["device_not_found"].get<std::string>()
                             : std::string("no path or device given");
    ctx.skip("nothing to measure: " + reason + "; and " + pressure.reason, details);
    return;
  }
  verdict.report(ctx, ok_text, details, sdk::Findings::Style::list);
}

}  // namespace

sdk::CheckType io_check(const Hooks& hooks) {
  return {
      .type = "resources.io",
      .summary = "I/O pressure and the utilization and latency of the backup disk",
      .doc =
          "Reads /proc/pressure/io (PSI) and, for the block device holding `path` (found through "
          "the path's st_dev and /sys/dev/block/MAJ:MIN; for btrfs or LVM through the mount "
          "table), reads /proc/diskstats twice `sample` apart and computes what `iostat -x` "
          "shows: %util, r_await, w_await, await, requests and bytes per second and the queue "
          "size. A saturated or slow disk makes backups overrun their window and slows the "
          "application they protect.",
      .params_schema = sdk::parse_schema(schema()),
      .run = [&hooks](const json& params, sdk::Context& ctx) { run(params, ctx, hooks); }};
}

}  // namespace backup_doctor::resources
