// The /proc files the resources checks read: PSI, meminfo, loadavg, stat, diskstats, and the
// /proc/PID/{stat,io,cmdline} of other users' processes. A process chooses its own comm and
// command line (secrets in it are masked before display), and proc_root may point at a fixture
// tree, so the readers must take any bytes. The input is given to every parser; as a command
// line it is split at NUL bytes like /proc/PID/cmdline.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "processes.hpp"
#include "procfs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backup_doctor::resources;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  volatile double sink = 0;

  if (auto psi = parse_psi(text)) sink = sink + psi->some.avg[0] + (psi->full ? 1 : 0);
  for (const auto& [key, value] : parse_meminfo(text)) sink = sink + static_cast<double>(value);
  if (auto load = parse_loadavg(text)) sink = sink + load->load1 + load->running;
  sink = sink + count_cpus(text);

  std::vector<DiskStat> disks = parse_diskstats(text);
  for (size_t i = 0; i + 1 < disks.size(); i += 2) {
    // The same device sampled twice (either order: counters may wrap), over a few windows.
    for (double elapsed_ms : {1000.0, 0.5, 0.0}) {
      DiskRates r = disk_rates(disks[i], disks[i + 1], elapsed_ms);
      DiskRates back = disk_rates(disks[i + 1], disks[i], elapsed_ms);
      if (!(r.util_percent <= 100.0) && r.util_percent == r.util_percent) std::abort();
      sink = sink + r.await_ms + r.queue_size + back.read_bytes_per_s + static_cast<double>(r.ios);
    }
  }

  ProcessInfo p;
  if (auto stat = parse_proc_stat(text)) {
    p.stat = *stat;
    // The ioprio_get value comes from the kernel; the nice value from the stat file.
    for (int ioprio : {0, (2 << 13) | 4, 3 << 13, (7 << 13) | 7, -1})
      sink = sink + decode_io_priority(ioprio, stat->nice).name.size();
  }
  if (auto io = parse_proc_io(text)) sink = sink + static_cast<double>(io->rchar + io->wchar);

  std::string cur;
  for (char c : text) {
    if (c == '\0')
      p.argv.push_back(cur), cur.clear();
    else
      cur += c;
  }
  if (!cur.empty()) p.argv.push_back(cur);
  if (p.stat.comm.empty() && !p.argv.empty()) p.stat.comm = p.argv[0].substr(0, 15);
  std::string shown = display_cmdline(p.argv);
  if (shown.size() > 300 + 3) std::abort();
  sink = sink + shown.size() + display_name(std::string(text.substr(0, 256))).size();
  std::string matched;
  static const std::vector<std::string> patterns = {"pg_dump*", "rsync", "*backup*", "tar"};
  sink = sink + process_matches(p, patterns, &matched);
  (void)sink;
  return 0;
}
