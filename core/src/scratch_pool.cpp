#include "scratch_pool.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace backup_doctor {
namespace {

constexpr mode_t kScratchMode = 0711;

bool is_empty_directory(int fd) {
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return false;
  }
  bool empty = true;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(d);  // closes fd
  return empty;
}

}  // namespace

ScratchPool::ScratchPool(std::string base) : base_(std::move(base)) {}

ScratchPool::~ScratchPool() {
  for (const auto& dir : all_) support::remove_tree(dir.path);
}

std::string ScratchPool::default_base() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp == '/' ? tmp : "/tmp";
}

// Still the directory we made (not one put in its place), ours, 0711 and empty.
bool ScratchPool::reusable(const Dir& dir) const {
  int fd = open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_dev != dir.dev || st.st_ino != dir.ino ||
      st.st_uid != geteuid() || (st.st_mode & 07777) != kScratchMode) {
    close(fd);
    return false;
  }
  return is_empty_directory(fd);
}

std::string ScratchPool::acquire() {
  if (!free_.empty()) {
    size_t i = free_.back();
    free_.pop_back();
    return all_[i].path;
  }
  std::string path = base_ + "/backup-doctor.XXXXXX";
  struct stat st {};
  bool made = mkdtemp(path.data()) != nullptr;
  if (!made || chmod(path.c_str(), kScratchMode) != 0 || lstat(path.c_str(), &st) != 0) {
    int e = errno;
    if (made) rmdir(path.c_str());
    if (!warned_)
      spdlog::warn("cannot create a scratch directory under {}: {}; checks share TMPDIR={}", base_,
                   sdk::errno_text(e), base_);
    warned_ = true;
    return {};
  }
  all_.push_back({path, st.st_dev, st.st_ino});
  return path;
}

void ScratchPool::release(const std::string& path, bool may_reuse) {
  auto it = std::find_if(all_.begin(), all_.end(), [&](const Dir& d) { return d.path == path; });
  if (it == all_.end()) return;
  size_t index = static_cast<size_t>(it - all_.begin());
  if (may_reuse && reusable(*it)) {
    free_.push_back(index);
    return;
  }
  // Something was left in it, or it was changed: remove it all (a new one is made if needed).
  if (int e = support::remove_tree(path); e != 0 && e != ENOENT) {
    spdlog::warn("cannot remove scratch directory {}: {}; trying again at the end of the run", path,
                 sdk::errno_text(e));
    return;  // stays in all_, out of free_
  }
  // Erasing shifts the indexes after it.
  all_.erase(it);
  for (auto& f : free_)
    if (f > index) --f;
}

}  // namespace backup_doctor
