// Predicts what a real rsync run would trip over but a dry run cannot see: rsync -n never opens
// file contents and never creates anything, so unreadable files and unwritable destinations
// only show up in the real run. The probe opens each file read-only (regular files only) and
// asks access(W_OK|X_OK) for directories, as the backup user, in one forked child.
#pragma once

#include <backup_doctor/support/process.hpp>

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::rsync {

struct ProbeFailure {
  std::string path;
  int error = 0;       // errno
  bool write = false;  // a directory that is not writable (else a file that is not readable)
};

struct ProbeResult {
  bool tested = false;
  std::string reason;  // why it could not run, when !tested
  size_t files_checked = 0;
  size_t dirs_checked = 0;
  std::vector<ProbeFailure> failures;  // every failure (the caller caps what it shows)
};

// `user`: the account to act as (nothing: this process's own identity). Never modifies a path:
// files are opened O_RDONLY|O_NONBLOCK and closed without reading, directories are only asked.
ProbeResult probe_access(const std::optional<support::UserIds>& user,
                         const std::vector<std::string>& read_files,
                         const std::vector<std::string>& write_dirs);

}  // namespace backup_doctor::rsync
