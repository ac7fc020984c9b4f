// Readers for the /proc and /sys files the resources checks use. Every reader takes the root
// as a parameter (default "/proc", "/sys") so tests can point them at fixture trees.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::resources {

// Proc and sys files are small; a bound keeps a hostile one (or a fixture tree) from mattering.
constexpr size_t kMaxProcFile = 1 << 20;

// At most `max_bytes` of a regular file (`truncated` tells whether there was more), or nothing;
// `err` gets errno when it cannot be read. The last component is never followed when it is a
// link, and a FIFO or a device is never opened.
std::optional<std::string> read_file(const std::string& path, int* err = nullptr,
                                     size_t max_bytes = kMaxProcFile, bool* truncated = nullptr);

// One PSI file (/proc/pressure/{cpu,memory,io}):
//   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
struct PsiLine {
  std::array<double, 3> avg{};  // avg10, avg60, avg300 (percent of wall time)
  uint64_t total_us = 0;        // cumulative stall time in microseconds
};
struct Psi {
  PsiLine some;
  std::optional<PsiLine> full;  // absent before Linux 5.13 for cpu
};
std::optional<Psi> parse_psi(std::string_view text);

// A PSI file read for a check: available, or why not.
struct PressureReading {
  std::string resource;  // "cpu", "memory", "io"
  std::string path;
  bool available = false;
  std::string reason;  // when not available
  Psi psi;
};
// Reads <proc_root>/pressure/<resource>. Missing file or a kernel booted with psi=0 give
// available=false with a reason; a file that does not parse throws CheckError.
PressureReading read_pressure(const std::string& proc_root, const std::string& resource);

// /proc/meminfo in bytes ("MemAvailable" -> 123 * 1024).
std::map<std::string, uint64_t> parse_meminfo(std::string_view text);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  int running = 0, total = 0;
};
std::optional<LoadAvg> parse_loadavg(std::string_view text);

// Number of "cpuN" lines in /proc/stat (online CPUs); 0 when there is none.
int count_cpus(std::string_view proc_stat);

// One /proc/diskstats line. Fields after the name, as the kernel documents them
// (Documentation/admin-guide/iostats.rst): index 0 reads completed ... 10 weighted ms.
struct DiskStat {
  unsigned major = 0, minor = 0;
  std::string name;
  std::vector<uint64_t> fields;

  uint64_t field(size_t i) const { return i < fields.size() ? fields[i] : 0; }
  uint64_t reads() const { return field(0); }
  uint64_t sectors_read() const { return field(2); }
  uint64_t read_ms() const { return field(3); }
  uint64_t writes() const { return field(4); }
  uint64_t sectors_written() const { return field(6); }
  uint64_t write_ms() const { return field(7); }
  uint64_t in_flight() const { return field(8); }
  uint64_t io_ms() const { return field(9); }
  uint64_t weighted_ms() const { return field(10); }
};
std::vector<DiskStat> parse_diskstats(std::string_view text);

// What `iostat -x` shows for one device between two samples.
struct DiskRates {
  double reads_per_s = 0, writes_per_s = 0;
  double read_bytes_per_s = 0, write_bytes_per_s = 0;
  double r_await_ms = 0, w_await_ms = 0, await_ms = 0;  // 0 when there was no request
  double queue_size = 0;                                // aqu-sz
  double util_percent = 0;                              // %util (time the device was busy)
  uint64_t ios = 0;                                     // requests completed in the window
};
DiskRates disk_rates(const DiskStat& before, const DiskStat& after, double elapsed_ms);

// The block device behind a filesystem: found via /sys/dev/block/MAJ:MIN.
struct BlockDevice {
  unsigned major = 0, minor = 0;
  std::string name;         // kernel name as in /proc/diskstats: "vda", "sda1", "dm-0"
  std::string parent;       // whole disk for a partition ("sda" for "sda1"), else empty
  std::string mapper_name;  // device-mapper name ("vg0-backups"), else empty
};
// `dev` is a st_dev. Falls back to the mount source in <proc_root>/self/mountinfo when the
// filesystem has an anonymous device (btrfs, overlay). Nothing when there is no block device
// (tmpfs, NFS); `why` says what was tried.
std::optional<BlockDevice> block_device_for(const std::string& sys_root,
                                            const std::string& proc_root, uint64_t dev,
                                            const std::string& path, std::string* why);
// Looks a device up by "MAJ:MIN" or by kernel name in /sys/dev/block or diskstats.
std::optional<BlockDevice> block_device_named(const std::string& sys_root,
                                              const std::string& proc_root, const std::string& spec,
                                              std::string* why);

}  // namespace backup_doctor::resources
