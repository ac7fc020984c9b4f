// Private scratch directories for checks (each check's TMPDIR), made by the runner and reused.
//
// A directory is root's (the runner's), mode 0711: a program a check runs as another user can
// reach a file in it by name but not list it or add to it. When a check ends, its directory is
// emptied (without following any link left in it) and handed to the next check; creating and
// removing a directory per check costs more than the checks it serves (an ext4 inode each).
// Every directory is removed when the pool goes, at the end of the run.
#pragma once

#include <string>
#include <vector>

namespace backup_doctor {

class ScratchPool {
 public:
  // Directories go under `base` ($TMPDIR when absolute, otherwise /tmp).
  explicit ScratchPool(std::string base);
  ~ScratchPool();
  ScratchPool(const ScratchPool&) = delete;
  ScratchPool& operator=(const ScratchPool&) = delete;

  // An empty directory for one check, or "" if none can be made (the check then runs
  // without a TMPDIR of its own, and a warning says why).
  std::string acquire();
  // The check that had `dir` has ended and everything it started is gone.
  void release(const std::string& dir);

  static std::string default_base();

 private:
  std::string base_;
  std::vector<std::string> free_;
  std::vector<std::string> all_;
};

}  // namespace backup_doctor
