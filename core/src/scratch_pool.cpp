#include "scratch_pool.hpp"

#include "safe_open.hpp"

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

// True when `dir` is still ours, 0711 and empty: safe to give to the next check as it is.
bool reusable(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 07777) != kScratchMode) {
    close(fd);
    return false;
  }
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
  closedir(d);
  return empty;
}

}  // namespace

ScratchPool::ScratchPool(std::string base) : base_(std::move(base)) {}

ScratchPool::~ScratchPool() {
  for (const auto& dir : all_) support::remove_tree(dir);
}

std::string ScratchPool::default_base() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp == '/' ? tmp : "/tmp";
}

std::string ScratchPool::acquire() {
  if (!free_.empty()) {
    std::string dir = std::move(free_.back());
    free_.pop_back();
    return dir;
  }
  std::string pattern = base_ + "/backup-doctor.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr || chmod(pattern.c_str(), kScratchMode) != 0) {
    spdlog::warn("cannot create a scratch directory under {}: {}; checks use the default TMPDIR",
                 base_, std::strerror(errno));
    return {};
  }
  all_.push_back(pattern);
  return pattern;
}

void ScratchPool::release(const std::string& dir) {
  if (dir.empty()) return;
  if (reusable(dir)) {
    free_.push_back(dir);
    return;
  }
  // Something was left in it (or it was changed): remove it all; a new one is made if needed.
  if (int e = support::remove_tree(dir); e != 0 && e != ENOENT)
    spdlog::warn("cannot remove scratch directory {}: {}", dir, std::strerror(e));
  all_.erase(std::remove(all_.begin(), all_.end(), dir), all_.end());
}

}  // namespace backup_doctor
