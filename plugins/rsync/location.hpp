// rsync's reading of a source/destination argument: local path, `[user@]host:path` over a remote
// shell, or an rsync daemon (`host::module/path`, `rsync://host[:port]/module/path`).
#pragma once

#include <string>
#include <string_view>

namespace backup_doctor::rsync {

struct Location {
  enum class Kind { local, ssh, daemon } kind = Kind::local;
  std::string user;  // may be empty: the remote shell's default
  std::string host;  // without IPv6 brackets
  std::string path;  // as given (relative remote paths are relative to the login directory)
};

Location parse_location(std::string_view arg);

}  // namespace backup_doctor::rsync
