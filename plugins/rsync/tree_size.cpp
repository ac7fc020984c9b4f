#include "tree_size.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <cerrno>
#include <cstring>

#include <vector>

namespace backup_doctor::rsync {
namespace {

// Filesystems whose "files" are not data a backup copies (and whose sizes are fictional).
bool pseudo_filesystem(const std::string& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
      return true;
    default:
      return false;
  }
}

}  // namespace

TreeSize measure_tree(const std::string& root, sdk::Context* ctx) {
  TreeSize size;
  struct stat root_st {};
  if (lstat(root.c_str(), &root_st) != 0) return size;
  // Iterative depth-first walk: (path, device of the directory).
  std::vector<std::pair<std::string, dev_t>> stack{{root, root_st.st_dev}};
  uint64_t visited = 0;
  while (!stack.empty()) {
    auto [dir, dev] = std::move(stack.back());
    stack.pop_back();
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
      ++size.unreadable_dirs;
      continue;
    }
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if ((++visited & 1023) == 0 && ctx != nullptr && ctx->cancelled()) {
        size.cancelled = true;
        closedir(d);
        return size;
      }
      std::string path = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + e->d_name;
      struct stat st {};
      if (lstat(path.c_str(), &st) != 0) continue;
      if (S_ISREG(st.st_mode)) {
        size.bytes += static_cast<uint64_t>(st.st_size);
        ++size.files;
        if (static_cast<uint64_t>(st.st_size) > size.largest)
          size.largest = static_cast<uint64_t>(st.st_size);
      } else if (S_ISDIR(st.st_mode)) {
        if (st.st_dev != dev && pseudo_filesystem(path)) continue;
        stack.emplace_back(std::move(path), st.st_dev);
      }
    }
    closedir(d);
  }
  return size;
}

FreeSpace free_space(const std::string& path) {
  FreeSpace fs;
  struct statvfs v {};
  if (statvfs(path.c_str(), &v) != 0) {
    fs.error = std::strerror(errno);
    return fs;
  }
  fs.ok = true;
  fs.available = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  fs.total = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  return fs;
}

}  // namespace backup_doctor::rsync
