// Private scratch directories for checks (each check's TMPDIR), made by the runner and reused.
//
// A directory is root's (the runner's), mode 0711: a program a check runs as another user can
// reach a file in it by name but not list it or add to it. When a check ends, its directory is
// handed to the next check only if it is still the same directory, ours, 0711 and empty;
// anything else is removed (without following any link left in it) and a new one is made when
// needed. Creating and removing a directory per check costs more than the cheap checks it
// serves (an ext4 inode each). Every directory is removed when the pool goes, at run end.
#pragma once

#include <sys/types.h>
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

  // An empty directory for one check, or "" if none can be made (the check then runs with
  // the runner's TMPDIR; one warning says so).
  std::string acquire();
  // The check that had `dir` has ended. `may_reuse`: everything it started is gone.
  void release(const std::string& dir, bool may_reuse = true);

  static std::string default_base();

 private:
  struct Dir {
    std::string path;
    dev_t dev;
    ino_t ino;
  };
  bool reusable(const Dir& dir) const;

  std::string base_;
  std::vector<Dir> all_;      // every directory made and not yet removed
  std::vector<size_t> free_;  // indexes into all_ of directories ready for a check
  bool warned_ = false;
};

}  // namespace backup_doctor
