// The dump a check verifies, opened once through the safe-open primitive (docs/security.md):
// a link is never followed, a FIFO or a device is never opened, and everything afterwards
// (format detection, the scan, pg_restore, the restore into psql) reads this descriptor, never
// the path again. Backup directories belong to the backup account, which could otherwise
// swap the file for a link to a file only root can read, or for a FIFO that hangs the check.
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <sys/stat.h>

#include <optional>
#include <string>

namespace backup_doctor::pg {

struct DumpSource {
  std::string path;
  support::UniqueFd fd;  // the regular file (read-only) or the directory
  struct stat st {};

  bool is_directory() const { return S_ISDIR(st.st_mode); }
  // A new open file description of the same file or directory (its own offset), for a
  // program's stdin; invalid when that fails.
  support::UniqueFd reopen() const;
};

struct OpenedDump {
  std::optional<DumpSource> dump;
  support::Refusal refusal = support::Refusal::none;
  mode_t type = 0;          // what was found instead (wrong_type, symlink)
  std::string link_target;  // of a symbolic link
  std::string message;      // one line from the safe-open primitive
};

// Opens `path`: a regular file, or a directory (a directory-format dump).
OpenedDump open_dump(const std::string& path);

struct PickedDump {
  OpenedDump opened;      // the newest match, opened (or why not)
  size_t matches = 0;     // entries whose name matches
  std::string name;       // of the newest match
  std::string dir_error;  // the directory itself could not be opened or listed
  support::Refusal dir_refusal = support::Refusal::none;
};

// The newest entry of the directory `dir` whose name matches the glob `pattern`, by its own
// modification time (a link's, not its target's): never follows a link.
PickedDump pick_newest(const std::string& dir, const std::string& pattern);

// Bytes of the dump: the file's size, or the sum of the regular files in a directory dump.
unsigned long long dump_size(const DumpSource& dump);

}  // namespace backup_doctor::pg
