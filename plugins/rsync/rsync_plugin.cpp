#include "rsync_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::rsync {

RsyncPlugin::RsyncPlugin()
    : Plugin("rsync", "1.0.0",
             "File-sync backups with rsync: paths, dry run, ssh route, open files") {
  add(paths_check());
  add(dry_run_check());
  add(remote_check());
  add(open_files_check());
}

}  // namespace backup_doctor::rsync
