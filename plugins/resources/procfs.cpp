#include "procfs.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/sdk.hpp>
#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace backup_doctor::resources {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const std::string& path, int* err, size_t max_bytes,
                                     bool* truncated) {
  auto fail = [&](int e) -> std::optional<std::string> {
    if (err) *err = e;
    return std::nullopt;
  };
  // The type is checked before anything is opened for reading: a FIFO or a device in a tree
  // given as proc_root/sys_root is never opened. The last component is never a link.
  int path_fd = ::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0) return fail(errno);
  struct stat st {};
  if (::fstat(path_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = S_ISLNK(st.st_mode) ? ELOOP : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    ::close(path_fd);
    return fail(e);
  }
  std::string proc = "/proc/self/fd/" + std::to_string(path_fd);
  int fd = ::open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int open_errno = errno;
  ::close(path_fd);
  if (fd < 0) return fail(open_errno);
  support::BoundedRead read = support::read_up_to(fd, max_bytes);
  ::close(fd);
  if (read.error != 0) return fail(read.error);
  if (truncated) *truncated = read.truncated;
  return std::move(read.data);
}

namespace {

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  try {
    size_t used = 0;
    std::string copy(s);
    out = std::stod(copy, &used);
    return used == copy.size();
  } catch (...) {
    return false;
  }
}

std::optional<PsiLine> parse_psi_line(const std::vector<std::string_view>& words) {
  PsiLine line;
  int seen = 0;
  for (size_t i = 1; i < words.size(); ++i) {
    auto eq = words[i].find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
    if (key == "avg10" || key == "avg60" || key == "avg300") {
      int idx = key == "avg10" ? 0 : key == "avg60" ? 1 : 2;
      if (!parse_double(value, line.avg[idx])) return std::nullopt;
      seen |= 1 << idx;
    } else if (key == "total") {
      if (!parse_number(value, line.total_us)) return std::nullopt;
      seen |= 8;
    }
  }
  if (seen != 15) return std::nullopt;
  return line;
}

}  // namespace

std::optional<Psi> parse_psi(std::string_view text) {
  Psi psi;
  bool have_some = false;
  for (auto line : lines_of(text)) {
    auto words = split_ws(line);
    if (words.empty()) continue;
    auto parsed = parse_psi_line(words);
    if (!parsed) return std::nullopt;
    if (words[0] == "some")
      psi.some = *parsed, have_some = true;
    else if (words[0] == "full")
      psi.full = *parsed;
    else
      return std::nullopt;
  }
  if (!have_some) return std::nullopt;
  return psi;
}

PressureReading read_pressure(const std::string& proc_root, const std::string& resource) {
  PressureReading r;
  r.resource = resource;
  r.path = proc_root + "/pressure/" + resource;
  int err = 0;
  auto text = read_file(r.path, &err);
  if (!text) {
    if (err == ENOENT)
      r.reason = r.path +
                 " does not exist: this kernel has no pressure stall information (PSI needs "
                 "Linux 4.20+ built with CONFIG_PSI, and psi=1 on the kernel command line when "
                 "CONFIG_PSI_DEFAULT_DISABLED is set)";
    else if (err == EOPNOTSUPP)
      r.reason = r.path + " is not supported: PSI is disabled in this kernel (boot with psi=1)";
    else
      r.reason = "cannot read " + r.path + ": " + sdk::errno_text(err);
    return r;
  }
  auto psi = parse_psi(*text);
  if (!psi)
    throw sdk::CheckError(r.path + " does not look like a PSI file: \"" + text->substr(0, 200) +
                          "\"");
  r.psi = *psi;
  r.available = true;
  return r;
}

std::map<std::string, uint64_t> parse_meminfo(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (auto line : lines_of(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto words = split_ws(line.substr(colon + 1));
    if (words.empty()) continue;
    uint64_t value = 0;
    if (!parse_number(words[0], value)) continue;
    if (words.size() > 1 && words[1] == "kB") value *= 1024;
    out[std::string(line.substr(0, colon))] = value;
  }
  return out;
}

std::optional<LoadAvg> parse_loadavg(std::string_view text) {
  auto words = split_ws(lines_of(text).empty() ? std::string_view() : lines_of(text)[0]);
  if (words.size() < 3) return std::nullopt;
  LoadAvg l;
  if (!parse_double(words[0], l.load1) || !parse_double(words[1], l.load5) ||
      !parse_double(words[2], l.load15))
    return std::nullopt;
  if (words.size() > 3) {
    auto slash = words[3].find('/');
    if (slash != std::string_view::npos) {
      parse_number(words[3].substr(0, slash), l.running);
      parse_number(words[3].substr(slash + 1), l.total);
    }
  }
  return l;
}

int count_cpus(std::string_view proc_stat) {
  int n = 0;
  for (auto line : lines_of(proc_stat))
    if (line.size() > 3 && line.substr(0, 3) == "cpu" &&
        std::isdigit(static_cast<unsigned char>(line[3])))
      ++n;
  return n;
}

std::vector<DiskStat> parse_diskstats(std::string_view text) {
  std::vector<DiskStat> out;
  for (auto line : lines_of(text)) {
    auto words = split_ws(line);
    if (words.size() < 14) continue;  // 3 + the 11 fields every kernel since 2.6 has
    DiskStat d;
    if (!parse_number(words[0], d.major) || !parse_number(words[1], d.minor)) continue;
    d.name = std::string(words[2]);
    bool ok = true;
    for (size_t i = 3; i < words.size() && ok; ++i) {
      uint64_t v = 0;
      ok = parse_number(words[i], v);
      d.fields.push_back(v);
    }
    if (ok) out.push_back(std::move(d));
  }
  return out;
}

DiskRates disk_rates(const DiskStat& a, const DiskStat& b, double elapsed_ms) {
  // Counters are unsigned and may wrap (32-bit on some kernels); a decrease counts as zero.
  auto count = [](uint64_t before, uint64_t after) -> uint64_t {
    return after >= before ? after - before : 0;
  };
  auto delta = [&count](uint64_t before, uint64_t after) -> double {
    return static_cast<double>(count(before, after));
  };
  DiskRates r;
  double secs = elapsed_ms / 1000.0;
  if (secs <= 0) return r;
  // Summed as integers: a count near 2^64 (a broken or hostile file) rounds to 2^64 as a
  // double, which does not convert back to uint64_t.
  uint64_t read_ios = count(a.reads(), b.reads()), write_ios = count(a.writes(), b.writes());
  r.ios = read_ios > std::numeric_limits<uint64_t>::max() - write_ios
              ? std::numeric_limits<uint64_t>::max()
              : read_ios + write_ios;
  double reads = static_cast<double>(read_ios), writes = static_cast<double>(write_ios);
  double rms = delta(a.read_ms(), b.read_ms()), wms = delta(a.write_ms(), b.write_ms());
  r.reads_per_s = reads / secs;
  r.writes_per_s = writes / secs;
  // diskstats sectors are always 512 bytes, whatever the device's sector size.
  r.read_bytes_per_s = delta(a.sectors_read(), b.sectors_read()) * 512 / secs;
  r.write_bytes_per_s = delta(a.sectors_written(), b.sectors_written()) * 512 / secs;
  r.r_await_ms = reads > 0 ? rms / reads : 0;
  r.w_await_ms = writes > 0 ? wms / writes : 0;
  r.await_ms = reads + writes > 0 ? (rms + wms) / (reads + writes) : 0;
  r.queue_size = delta(a.weighted_ms(), b.weighted_ms()) / elapsed_ms;
  r.util_percent = std::min(100.0, delta(a.io_ms(), b.io_ms()) / elapsed_ms * 100.0);
  return r;
}

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Fills name/parent/mapper from /sys/dev/block/MAJ:MIN; false when it does not exist.
bool from_sys(const std::string& sys_root, BlockDevice& dev) {
  std::string link =
      sys_root + "/dev/block/" + std::to_string(dev.major) + ":" + std::to_string(dev.minor);
  std::error_code ec;
  fs::path dir = fs::canonical(link, ec);
  if (ec) return false;
  dev.name = dir.filename().string();
  if (auto uevent = read_file((dir / "uevent").string())) {
    std::istringstream in(*uevent);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("DEVNAME=", 0) == 0) dev.name = line.substr(8);
  }
  if (fs::exists(dir / "partition", ec)) dev.parent = dir.parent_path().filename().string();
  if (auto dm = read_file((dir / "dm" / "name").string())) dev.mapper_name = trim(*dm);
  return true;
}

bool from_diskstats(const std::string& proc_root, BlockDevice& dev, bool by_name) {
  auto text = read_file(proc_root + "/diskstats");
  if (!text) return false;
  for (const auto& d : parse_diskstats(*text)) {
    if (by_name ? d.name == dev.name : (d.major == dev.major && d.minor == dev.minor)) {
      dev.major = d.major, dev.minor = d.minor, dev.name = d.name;
      return true;
    }
  }
  return false;
}

std::optional<BlockDevice> by_numbers(const std::string& sys_root, const std::string& proc_root,
                                      unsigned maj, unsigned min) {
  BlockDevice dev;
  dev.major = maj, dev.minor = min;
  if (from_sys(sys_root, dev) || from_diskstats(proc_root, dev, false)) return dev;
  return std::nullopt;
}

// The mount holding `path` in mountinfo (longest mount point that is a prefix); returns its
// source ("/dev/mapper/vg0-root") and filesystem type.
bool mount_source(const std::string& proc_root, const std::string& path, std::string& source,
                  std::string& fstype) {
  auto text = read_file(proc_root + "/self/mountinfo");
  if (!text) return false;
  std::error_code ec;
  std::string real = fs::weakly_canonical(path, ec).string();
  if (ec) real = path;
  size_t best = 0;
  bool found = false;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    auto words = split_ws(line);
    auto dash = std::find(words.begin(), words.end(), std::string_view("-"));
    if (words.size() < 5 || dash == words.end() || dash + 2 >= words.end()) continue;
    std::string mp(words[4]);
    bool prefix = real == mp || mp == "/" ||
                  (real.rfind(mp, 0) == 0 && real.size() > mp.size() && real[mp.size()] == '/');
    if (prefix && mp.size() >= best) {
      best = mp.size();
      fstype = std::string(*(dash + 1));
      source = std::string(*(dash + 2));
      found = true;
    }
  }
  return found;
}

}  // namespace

std::optional<BlockDevice> block_device_for(const std::string& sys_root,
                                            const std::string& proc_root, uint64_t dev,
                                            const std::string& path, std::string* why) {
  unsigned maj = ::major(dev), min = ::minor(dev);
  if (maj != 0) {
    if (auto d = by_numbers(sys_root, proc_root, maj, min)) return d;
    if (why)
      *why = "device " + std::to_string(maj) + ":" + std::to_string(min) + " of " + path +
             " is neither in " + sys_root + "/dev/block nor in " + proc_root + "/diskstats";
    return std::nullopt;
  }
  // Anonymous device (btrfs subvolume, overlay, tmpfs, NFS): ask the mount table.
  std::string source, fstype;
  if (!mount_source(proc_root, path, source, fstype)) {
    if (why) *why = path + " is on an anonymous device and its mount was not found";
    return std::nullopt;
  }
  struct stat st {};
  if (source.rfind("/dev/", 0) == 0 && ::stat(source.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
    if (auto d = by_numbers(sys_root, proc_root, ::major(st.st_rdev), ::minor(st.st_rdev)))
      return d;
  }
  if (why)
    *why = path + " is on a " + fstype + " filesystem (" + source +
           ") that has no block device of its own";
  return std::nullopt;
}

std::optional<BlockDevice> block_device_named(const std::string& sys_root,
                                              const std::string& proc_root, const std::string& spec,
                                              std::string* why) {
  unsigned maj = 0, min = 0;
  auto colon = spec.find(':');
  if (colon != std::string::npos && parse_number(std::string_view(spec).substr(0, colon), maj) &&
      parse_number(std::string_view(spec).substr(colon + 1), min)) {
    if (auto d = by_numbers(sys_root, proc_root, maj, min)) return d;
  } else {
    std::string name = spec.rfind("/dev/", 0) == 0 ? spec.substr(5) : spec;
    if (auto numbers = read_file(sys_root + "/class/block/" + name + "/dev")) {
      auto t = trim(*numbers);
      auto c = t.find(':');
      if (c != std::string::npos && parse_number(std::string_view(t).substr(0, c), maj) &&
          parse_number(std::string_view(t).substr(c + 1), min))
        if (auto d = by_numbers(sys_root, proc_root, maj, min)) return d;
    }
    BlockDevice dev;
    dev.name = name;
    if (from_diskstats(proc_root, dev, true)) {
      from_sys(sys_root, dev);
      return dev;
    }
  }
  if (why)
    *why = "no block device \"" + spec + "\" in " + sys_root + " or " + proc_root + "/diskstats";
  return std::nullopt;
}

}  // namespace backup_doctor::resources
