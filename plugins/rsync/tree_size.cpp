#include "tree_size.hpp"

#include "local_tree.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <vector>

namespace backup_doctor::rsync {
namespace {

// Filesystems whose "files" are not data a backup copies (and whose sizes are fictional).
bool pseudo_filesystem(int dir) {
  struct statfs fs {};
  if (fstatfs(dir, &fs) != 0) return false;
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

constexpr int kMaxDepth = 256;

class Walker {
 public:
  Walker(TreeSize& size, sdk::Context* ctx) : size_(size), ctx_(ctx) {}

  // Adds up the entries of the open directory `dir`, then descends into its subdirectories.
  void walk(int dir, dev_t dev, int depth) {
    std::vector<support::DirEntry> entries;
    if (support::list_directory(dir, entries) != 0) ++size_.unreadable_dirs;
    for (const auto& e : entries) {
      if ((++visited_ & 1023) == 0 && ctx_ != nullptr && ctx_->cancelled()) size_.cancelled = true;
      if (size_.cancelled) return;
      if (S_ISREG(e.st.st_mode)) {
        auto bytes = static_cast<uint64_t>(e.st.st_size);
        size_.bytes += bytes;
        ++size_.files;
        size_.largest = std::max(size_.largest, bytes);
      } else if (S_ISDIR(e.st.st_mode) && depth < kMaxDepth) {
        descend(dir, e, dev, depth);
      }
    }
  }

 private:
  void descend(int dir, const support::DirEntry& e, dev_t dev, int depth) {
    support::UniqueFd sub(
        ::openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!sub || ::fstat(sub.get(), &st) != 0 || st.st_ino != e.st.st_ino) {
      ++size_.unreadable_dirs;
      return;
    }
    if (st.st_dev != dev && pseudo_filesystem(sub.get())) return;
    walk(sub.get(), st.st_dev, depth + 1);
  }

  TreeSize& size_;
  sdk::Context* ctx_;
  uint64_t visited_ = 0;
};

}  // namespace

TreeSize measure_tree(const std::string& root, sdk::Context* ctx) {
  TreeSize size;
  OpenedTree tree = open_tree(root);
  if (!tree) {
    size.refusal = tree.refusal;
    return size;
  }
  size.opened = true;
  struct stat st {};
  if (::fstat(tree.fd.get(), &st) != 0) return size;
  Walker(size, ctx).walk(tree.fd.get(), st.st_dev, 1);
  return size;
}

FreeSpace free_space(const std::string& path) {
  FreeSpace fs;
  struct statvfs v {};
  if (statvfs(path.c_str(), &v) != 0) {
    fs.error = sdk::errno_text(errno);
    return fs;
  }
  fs.ok = true;
  fs.available = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  fs.total = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  return fs;
}

}  // namespace backup_doctor::rsync
