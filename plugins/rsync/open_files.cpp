#include "open_files.hpp"

#include <backup_doctor/support/safe_open.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace backup_doctor::rsync {
namespace {

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// At most `max` bytes of a /proc file, relative to an open /proc/<pid> directory; never
// follows a link. Proc files are small, but a bound keeps a hostile one from mattering.
std::string read_small_at(int dir, const char* name, size_t max = 4096) {
  int fd = ::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out = support::read_up_to(fd, max).data;
  ::close(fd);
  return out;
}

bool is_under(const std::string& path, const std::string& root) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
         (path.size() == root.size() || path[root.size()] == '/');
}

}  // namespace

int fdinfo_access_mode(const std::string& fdinfo) {
  std::istringstream in(fdinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags:", 0) != 0) continue;
    unsigned long flags = std::strtoul(line.c_str() + 6, nullptr, 8);
    return static_cast<int>(flags & O_ACCMODE);
  }
  return -1;
}

// The files of one process under `roots` that it holds open for writing.
namespace {

void scan_process(int pid_dir, pid_t pid, const std::vector<std::string>& roots,
                  OpenFileScan& scan) {
  int fd_dir = ::openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd_dir < 0) {
    if (errno == EACCES || errno == EPERM) ++scan.processes_unreadable;
    return;  // ENOENT: the process ended meanwhile
  }
  DIR* fds = ::fdopendir(fd_dir);
  if (fds == nullptr) {
    ::close(fd_dir);
    return;
  }
  ++scan.processes_scanned;
  std::string comm;
  while (dirent* f = ::readdir(fds)) {
    if (!all_digits(f->d_name)) continue;
    char target[4096];
    ssize_t n = ::readlinkat(fd_dir, f->d_name, target, sizeof target - 1);
    if (n <= 0 || target[0] != '/') continue;  // sockets, pipes, anon inodes
    std::string path(target, static_cast<size_t>(n));
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    bool wanted = false;
    for (const auto& r : roots)
      if (is_under(path, r)) wanted = true;
    if (!wanted) continue;
    std::string info_name = std::string("fdinfo/") + f->d_name;
    int mode = fdinfo_access_mode(read_small_at(pid_dir, info_name.c_str()));
    if (mode != O_WRONLY && mode != O_RDWR) continue;
    if (comm.empty()) {
      comm = read_small_at(pid_dir, "comm", 64);
      while (!comm.empty() && (comm.back() == '\n' || comm.back() == ' ')) comm.pop_back();
    }
    scan.files.push_back(OpenFile{pid, comm, path, std::atoi(f->d_name), mode == O_RDWR});
  }
  ::closedir(fds);
}

}  // namespace

OpenFileScan scan_open_files(const std::vector<std::string>& roots, bool (*stop)(void*),
                             void* stop_arg, const std::string& proc_root) {
  OpenFileScan scan;
  int proc_fd = ::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) return scan;
  DIR* proc = ::fdopendir(proc_fd);
  if (proc == nullptr) {
    ::close(proc_fd);
    return scan;
  }
  while (dirent* p = ::readdir(proc)) {
    if (!all_digits(p->d_name)) continue;
    if (stop != nullptr && (scan.processes_scanned & 63) == 0 && stop(stop_arg)) break;
    int pid_dir = ::openat(proc_fd, p->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pid_dir < 0) continue;
    scan_process(pid_dir, static_cast<pid_t>(std::atol(p->d_name)), roots, scan);
    ::close(pid_dir);
  }
  ::closedir(proc);
  return scan;
}

}  // namespace backup_doctor::rsync
