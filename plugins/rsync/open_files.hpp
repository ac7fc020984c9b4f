// Files held open for writing by running processes, found through /proc/<pid>/fd and the
// access mode in /proc/<pid>/fdinfo/<fd>.
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

namespace backup_doctor::rsync {

struct OpenFile {
  pid_t pid = 0;
  std::string process;  // /proc/<pid>/comm
  std::string path;
  int fd = -1;
  bool read_write = false;  // O_RDWR (else O_WRONLY)
};

struct OpenFileScan {
  std::vector<OpenFile> files;
  size_t processes_scanned = 0;
  size_t processes_unreadable = 0;  // fd tables we may not read (not root)
};

// Files under any of `roots` (absolute, canonical, no trailing slash) open for writing.
// `stop` is polled now and then; when it returns true the scan ends early.
OpenFileScan scan_open_files(const std::vector<std::string>& roots, bool (*stop)(void*) = nullptr,
                             void* stop_arg = nullptr, const std::string& proc_root = "/proc");

// The access mode from an fdinfo text ("flags:\t0100002"): 0 read-only, 1 write, 2 read-write,
// -1 when there is no flags line.
int fdinfo_access_mode(const std::string& fdinfo);

}  // namespace backup_doctor::rsync
