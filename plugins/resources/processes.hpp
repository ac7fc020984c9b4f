// Reading processes from procfs: /proc/PID/stat, cmdline, status and io.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::resources {

// The fields of /proc/PID/stat the checks use.
struct ProcStat {
  int pid = 0;
  std::string comm;
  char state = '?';
  int ppid = 0;
  long nice = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot, in clock ticks
};
// The comm field is in parentheses and may itself contain spaces and parentheses.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// /proc/PID/io. read_bytes/write_bytes count storage I/O; rchar/wchar count every read(2)
// and write(2), sockets and pipes included (pg_dump reading from the server).
struct ProcIo {
  uint64_t rchar = 0, wchar = 0, read_bytes = 0, write_bytes = 0;
};
std::optional<ProcIo> parse_proc_io(std::string_view text);

struct ProcessInfo {
  ProcStat stat;
  std::vector<std::string> argv;
  bool argv_truncated = false;  // the command line was longer than kMaxCmdline
  int uid = -1;
};

// How much of a command line is read.
constexpr size_t kMaxCmdline = 64 * 1024;

// Numeric entries of `proc_root`, ascending.
std::vector<int> list_pids(const std::string& proc_root);
// Nothing when the process is gone or unreadable.
std::optional<ProcessInfo> read_process(const std::string& proc_root, int pid);

// The command line for display, with secrets masked (secret_mask.hpp: --password=...,
// mysqldump -pSECRET, sshpass -p, curl -u user:pass, URL user:password@, conninfo password=...),
// cut after `max_chars`.
std::string display_cmdline(const std::vector<std::string>& argv, size_t max_chars = 300);

// A process or program name for display (comm, or argv[0] faked with exec -a), masked the same
// way.
std::string display_name(const std::string& name);

// Does the process match one of the names (shell globs)? Matched against comm, the basename of
// argv[0], and for an interpreter (sh, bash, python3, perl...) the basename of its script.
bool process_matches(const ProcessInfo& p, const std::vector<std::string>& patterns,
                     std::string* matched_name);

// ioprio_get(2) value decoded: class 0 "none" (the kernel derives best-effort from nice),
// 1 "realtime", 2 "best-effort", 3 "idle".
struct IoPriority {
  int klass = 0;
  int level = 0;
  std::string name;       // "idle", "best-effort/4", "none (best-effort/4 from nice 0)"
  std::string effective;  // "idle", "best-effort", "realtime"
};
IoPriority decode_io_priority(int value, long nice);

}  // namespace backup_doctor::resources
