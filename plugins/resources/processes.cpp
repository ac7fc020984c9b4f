#include "processes.hpp"

#include "procfs.hpp"
#include "secret_mask.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace backup_doctor::resources {

namespace {

template <typename T>
bool to_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  ProcStat s;
  std::string_view pid_part = text.substr(0, open);
  while (!pid_part.empty() && pid_part.back() == ' ') pid_part.remove_suffix(1);
  if (!to_number(pid_part, s.pid)) return std::nullopt;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  std::vector<std::string_view> f;  // f[0] is field 3 (state)
  size_t i = close + 1;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) f.push_back(text.substr(start, i - start));
  }
  if (f.size() < 20 || f[0].size() != 1) return std::nullopt;
  s.state = f[0][0];
  if (!to_number(f[1], s.ppid) || !to_number(f[11], s.utime_ticks) ||
      !to_number(f[12], s.stime_ticks) || !to_number(f[16], s.nice) ||
      !to_number(f[19], s.start_ticks))
    return std::nullopt;
  return s;
}

std::optional<ProcIo> parse_proc_io(std::string_view text) {
  ProcIo io;
  int seen = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    uint64_t v = 0;
    if (!to_number(std::string_view(value), v)) continue;
    if (key == "rchar")
      io.rchar = v, seen |= 1;
    else if (key == "wchar")
      io.wchar = v, seen |= 2;
    else if (key == "read_bytes")
      io.read_bytes = v, seen |= 4;
    else if (key == "write_bytes")
      io.write_bytes = v, seen |= 8;
  }
  if ((seen & 3) != 3) return std::nullopt;
  return io;
}

std::vector<int> list_pids(const std::string& proc_root) {
  std::vector<int> pids;
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return pids;
  while (auto* e = ::readdir(dir)) {
    int pid = 0;
    if (to_number(std::string_view(e->d_name), pid) && pid > 0) pids.push_back(pid);
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::optional<ProcessInfo> read_process(const std::string& proc_root, int pid) {
  std::string base = proc_root + "/" + std::to_string(pid);
  auto stat_text = read_file(base + "/stat");
  if (!stat_text) return std::nullopt;
  auto stat = parse_proc_stat(*stat_text);
  if (!stat) return std::nullopt;
  ProcessInfo p;
  p.stat = *stat;
  if (auto comm = read_file(base + "/comm")) {
    std::string c = *comm;
    while (!c.empty() && c.back() == '\n') c.pop_back();
    if (!c.empty()) p.stat.comm = c;
  }
  // A process decides how long its command line is (megabytes, if it likes): only the start
  // is read, which holds the program and its options.
  if (auto cmdline = read_file(base + "/cmdline", nullptr, kMaxCmdline, &p.argv_truncated)) {
    std::string cur;
    for (char c : *cmdline) {
      if (c == '\0')
        p.argv.push_back(cur), cur.clear();
      else
        cur += c;
    }
    if (!cur.empty()) p.argv.push_back(cur);
  }
  if (auto status = read_file(base + "/status")) {
    std::istringstream in(*status);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream words(line.substr(4));
        words >> p.uid;
      }
  }
  return p;
}

std::string display_cmdline(const std::vector<std::string>& argv, size_t max_chars) {
  std::string out;
  for (const auto& arg : secret_mask::mask_argv(argv)) {
    if (out.size() > max_chars) break;
    out += (out.empty() ? "" : " ") + arg;
  }
  if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
  return out;
}

std::string display_name(const std::string& name) {
  return secret_mask::mask_text(name);
}

bool process_matches(const ProcessInfo& p, const std::vector<std::string>& patterns,
                     std::string* matched_name) {
  std::vector<std::string> candidates = {p.stat.comm};
  if (!p.argv.empty()) {
    candidates.push_back(basename_of(p.argv[0]));
    static const char* interpreters[] = {"sh",     "bash",    "dash", "zsh",  "ksh",
                                         "python", "python3", "perl", "ruby", "env"};
    std::string first = basename_of(p.argv[0]);
    bool interp = std::any_of(std::begin(interpreters), std::end(interpreters),
                              [&](const char* i) { return first == i; });
    if (interp) {
      for (size_t i = 1; i < p.argv.size(); ++i) {
        if (!p.argv[i].empty() && p.argv[i][0] == '-') continue;  // interpreter options
        candidates.push_back(basename_of(p.argv[i]));
        break;
      }
    }
  }
  for (const auto& pattern : patterns)
    for (const auto& c : candidates)
      if (!c.empty() && ::fnmatch(pattern.c_str(), c.c_str(), 0) == 0) {
        if (matched_name) *matched_name = c;
        return true;
      }
  return false;
}

IoPriority decode_io_priority(int value, long nice) {
  IoPriority io;
  io.klass = (value >> 13) & 0x7;
  io.level = value & 0x7;
  // Nice is -20..19; the value comes from the stat file, so it is clamped before any arithmetic.
  int nice_level = static_cast<int>((std::clamp(nice, -20L, 19L) + 20) / 5);
  switch (io.klass) {
    case 1:
      io.name = "realtime/" + std::to_string(io.level);
      io.effective = "realtime";
      break;
    case 2:
      io.name = "best-effort/" + std::to_string(io.level);
      io.effective = "best-effort";
      break;
    case 3:
      io.name = "idle";
      io.effective = "idle";
      break;
    default:
      // No class set: the kernel treats it as best-effort with a level derived from nice.
      io.level = nice_level;
      io.name = "none (best-effort/" + std::to_string(nice_level) + " from nice " +
                std::to_string(nice) + ")";
      io.effective = "best-effort";
  }
  return io;
}

}  // namespace backup_doctor::resources
