#include "access_probe.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
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

}  // namespace

ProbeResult probe_access(const std::optional<support::UserIds>& user,
                         const std::vector<std::string>& read_files,
                         const std::vector<std::string>& write_dirs) {
  ProbeResult result;
  // Supplementary groups are looked up before fork: initgroups() allocates, which is not safe
  // in the child of a possibly threaded process.
  std::vector<gid_t> groups;
  if (user) {
    int n = 64;
    groups.resize(static_cast<size_t>(n));
    while (getgrouplist(user->name.c_str(), user->gid, groups.data(), &n) < 0)
      groups.resize(static_cast<size_t>(n));
    groups.resize(static_cast<size_t>(n));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.reason = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result.reason = std::string("fork: ") + std::strerror(errno);
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
      struct stat st {};
      if (lstat(read_files[i].c_str(), &st) != 0) {
        // Gone since the dry run listed it, or a parent directory is closed to the user.
        if (errno != ENOENT) {
          Record r{'R', errno, i};
          write_all(fds[1], reinterpret_cast<const char*>(&r), sizeof r);
        }
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;  // never open devices or FIFOs
      int fd = open(read_files[i].c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        Record r{'R', errno, i};
        write_all(fds[1], reinterpret_cast<const char*>(&r), sizeof r);
      } else {
        close(fd);
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
                      "': " + std::strerror(r.error);
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
