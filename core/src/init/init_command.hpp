// `backup-doctor init`: a starter checklist from the backup jobs on this host.
#pragma once

#include <string>

namespace backup_doctor::init {

struct InitOptions {
  std::string root = "/";  // read the host under this directory (a chroot, an image, a sandbox)
  std::string output;      // write the checklist here ("" or "-": stdout)
  bool force = false;      // replace an existing output file
};

// Exit code: 0 written, 2 nothing to write (no backup job found) or the file exists, 3 errors.
int command_init(const InitOptions& options);

}  // namespace backup_doctor::init
