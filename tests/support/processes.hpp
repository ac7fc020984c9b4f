// Finding the processes a test left running, in /proc.
//
// Every test program that includes this is a child subreaper from its start, so whatever its
// processes leave behind (a daemon that double-forked into its own session, an orphan of a
// check killed at its timeout) is re-parented to the test, not to init: it stays a descendant
// of the test, where processes_with() finds it. Other tests running beside this one start the
// same tools (psql, sleep), so the whole of /proc would be the wrong question.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <cstdlib>
#include <sstream>
#include <string>

namespace backup_doctor::test {

inline const bool kTestIsSubreaper = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;

// The text of a file under /proc/<pid>/, or what was read before the process went away. Not
// std::ifstream: libstdc++ throws from underflow() when read() fails, and reading a process that
// exits mid-read fails with ESRCH.
inline std::string read_proc_file(const std::string& path) {
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return text;
}

// The parent of `pid`, or 0 when it is gone.
inline long parent_of(long pid) {
  std::string stat = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  long ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

// Live processes below this test whose command line contains `marker`.
inline int processes_with(const std::string& marker) {
  const long self = ::getpid();
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = read_proc_file(std::string("/proc/") + e->d_name + "/cmdline");
    if (cmd.find(marker) == std::string::npos) continue;
    long pid = std::atol(e->d_name);
    for (int hops = 0; pid > 1 && hops < 64; ++hops) {
      pid = parent_of(pid);
      if (pid == self) {
        ++count;
        break;
      }
    }
  }
  closedir(proc);
  return count;
}

}  // namespace backup_doctor::test
