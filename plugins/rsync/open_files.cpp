#include "open_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace backup_doctor::rsync {
namespace {

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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

OpenFileScan scan_open_files(const std::vector<std::string>& roots, bool (*stop)(void*),
                             void* stop_arg, const std::string& proc_root) {
  OpenFileScan scan;
  DIR* proc = opendir(proc_root.c_str());
  if (proc == nullptr) return scan;
  while (dirent* p = readdir(proc)) {
    if (!all_digits(p->d_name)) continue;
    if (stop != nullptr && (scan.processes_scanned & 63) == 0 && stop(stop_arg)) break;
    std::string base = proc_root + "/" + p->d_name;
    DIR* fds = opendir((base + "/fd").c_str());
    if (fds == nullptr) {
      if (errno == EACCES || errno == EPERM) ++scan.processes_unreadable;
      continue;  // ENOENT: the process ended meanwhile
    }
    ++scan.processes_scanned;
    std::string comm;
    while (dirent* f = readdir(fds)) {
      if (!all_digits(f->d_name)) continue;
      char target[4096];
      std::string link = base + "/fd/" + f->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0 || target[0] != '/') continue;  // sockets, pipes, anon inodes
      target[n] = '\0';
      std::string path(target, static_cast<size_t>(n));
      if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
      bool wanted = false;
      for (const auto& r : roots)
        if (is_under(path, r)) wanted = true;
      if (!wanted) continue;
      int mode = fdinfo_access_mode(read_small(base + "/fdinfo/" + f->d_name));
      if (mode != O_WRONLY && mode != O_RDWR) continue;
      if (comm.empty()) {
        comm = read_small(base + "/comm");
        while (!comm.empty() && (comm.back() == '\n' || comm.back() == ' ')) comm.pop_back();
      }
      scan.files.push_back(OpenFile{static_cast<pid_t>(std::atol(p->d_name)), comm, path,
                                    std::atoi(f->d_name), mode == O_RDWR});
    }
    closedir(fds);
  }
  closedir(proc);
  return scan;
}

}  // namespace backup_doctor::rsync
