// The rsync plugin: diagnoses file-sync backups made with rsync (paths, a dry run of the job,
// the ssh route to a remote destination, files being written under the source).
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::rsync {

class RsyncPlugin : public sdk::Plugin {
 public:
  RsyncPlugin();
};

}  // namespace backup_doctor::rsync
