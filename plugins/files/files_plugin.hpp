// The `files` plugin: filesystem facts a backup depends on (paths, permissions, access by the
// backup user, freshness and size of the newest backup, errors in the logs, installed tools).
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::files {

class FilesPlugin : public sdk::Plugin {
 public:
  FilesPlugin();
};

}  // namespace backup_doctor::files
