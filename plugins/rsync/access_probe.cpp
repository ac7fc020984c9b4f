#include "access_probe.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace backup_doctor::rsync {
namespace {

// Writes all of `len` bytes (the child reports through a pipe the parent drains).
void write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    len -= static_cast<size_t>(n);
  }
}

// Record: 'R' or 'W', errno, index — as fixed-size binary, no allocation in the child.
struct Record {
  char kind;
  int error;
  size_t index;
};

// Opens a file for reading the way rsync would, without following a link as the last
// component and without ever opening a FIFO or a device (the type is checked on an O_PATH
// descriptor first, and only a regular file is reopened for reading, through that very
// descriptor). Returns 0, or the errno that a real run would hit. Gone, a link or not a regular
// file: 0, since rsync does not read those as files. No allocation: runs in a forked child.
int probe_read(const char* path) {
  int pfd = ::open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0) return errno == ENOENT || errno == ELOOP ? 0 : errno;
  struct stat st {};
  int err = 0;
  if (::fstat(pfd, &st) == 0 && S_ISREG(st.st_mode)) {
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    int fd = ::open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      err = errno;
    else
      ::close(fd);
  }
  ::close(pfd);
  return err;
}

}  // namespace

ProbeResult probe_access(const std::optional<support::UserIds>& user,
                         const std::vector<std::string>& read_files,
                         const std::vector<std::string>& write_dirs) {
  ProbeResult result;
  // Looked up before fork: nothing in the child may allocate.
  const std::vector<gid_t> groups =
      user ? support::supplementary_groups(*user) : std::vector<gid_t>{};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.reason = std::string("pipe: ") + sdk::errno_text(errno);
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result.reason = std::string("fork: ") + sdk::errno_text(errno);
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
    if (user && geteuid() != user->uid) {
      if (setgroups(groups.size(), groups.data()) != 0 || setgid(user->gid) != 0 ||
          setuid(user->uid) != 0) {
        Record r{'X', errno, 0};
        write_all(fds[1], reinterpret_cast<const char*>(&r), sizeof r);
        _exit(1);
      }
    }
    for (size_t i = 0; i < read_files.size(); ++i) {
      int err = probe_read(read_files[i].c_str());
      if (err != 0) {
        Record r{'R', err, i};
        write_all(fds[1], reinterpret_cast<const char*>(&r), sizeof r);
      }
    }
    for (size_t i = 0; i < write_dirs.size(); ++i) {
      if (access(write_dirs[i].c_str(), W_OK | X_OK) != 0) {
        Record r{'W', errno, i};
        write_all(fds[1], reinterpret_cast<const char*>(&r), sizeof r);
      }
    }
    Record done{'D', 0, 0};
    write_all(fds[1], reinterpret_cast<const char*>(&done), sizeof done);
    _exit(0);
  }
  close(fds[1]);
  bool finished = false;
  Record r{};
  size_t have = 0;
  char* buf = reinterpret_cast<char*>(&r);
  for (;;) {
    ssize_t n = read(fds[0], buf + have, sizeof r - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    if (have < sizeof r) continue;
    have = 0;
    if (r.kind == 'X') {
      result.reason = std::string("could not switch to user '") + (user ? user->name : "") +
                      "': " + sdk::errno_text(r.error);
    } else if (r.kind == 'D') {
      finished = true;
    } else if (r.kind == 'R' && r.index < read_files.size()) {
      result.failures.push_back({read_files[r.index], r.error, false});
    } else if (r.kind == 'W' && r.index < write_dirs.size()) {
      result.failures.push_back({write_dirs[r.index], r.error, true});
    }
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    if (result.reason.empty()) result.reason = "the access probe process died";
    return result;
  }
  result.tested = true;
  result.files_checked = read_files.size();
  result.dirs_checked = write_dirs.size();
  return result;
}

}  // namespace backup_doctor::rsync
