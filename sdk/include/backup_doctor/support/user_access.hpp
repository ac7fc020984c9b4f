// "Can user X read/write/execute this path?", answered by really trying as that user in a
// child process (the runner is usually root, for whom access() always says yes).
#pragma once

#include <backup_doctor/support/process.hpp>

#include <string>

namespace backup_doctor::support {

enum class Access { read, write, execute };

struct AccessAnswer {
  bool allowed = false;
  std::string reason;  // strerror text when denied, or why the test could not be done
  bool tested = true;  // false: could not switch to the user (not root, unknown user)
};

// Forks, switches to `user` (supplementary groups, gid, uid) and tries the access for real:
// read opens the file (or lists the directory), write uses access(W_OK) for files and creates
// nothing; execute uses access(X_OK). Never modifies the path.
AccessAnswer test_access_as(const UserIds& user, const std::string& path, Access what);

}  // namespace backup_doctor::support
