// Sizes a source tree (what a full copy needs) and the free space where it would land.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <cstdint>
#include <string>

namespace backup_doctor::rsync {

struct TreeSize {
  uint64_t bytes = 0;    // apparent size of regular files (what rsync copies)
  uint64_t files = 0;    // regular files
  uint64_t largest = 0;  // largest single file (rsync needs room for its temporary copy)
  uint64_t unreadable_dirs = 0;
  bool cancelled = false;
  bool opened = false;
  std::string refusal;  // why `root` was not walked (a link another account made, missing...)
};

// Walks `root` (opened with open_tree: a link another account made is not followed) with each
// subdirectory opened O_NOFOLLOW relative to its parent, so a directory swapped for a link is
// never entered; skips pseudo filesystems (/proc, /sys, ...) mounted below it. Polls
// ctx->cancelled() when ctx is given.
TreeSize measure_tree(const std::string& root, sdk::Context* ctx);

struct FreeSpace {
  bool ok = false;
  uint64_t available = 0;  // for unprivileged users (f_bavail)
  uint64_t total = 0;
  std::string error;
};

FreeSpace free_space(const std::string& path);

}  // namespace backup_doctor::rsync
