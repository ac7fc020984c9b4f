#include "rsync_plugin.hpp"

#include "common.hpp"

namespace backup_doctor::rsync {

RsyncPlugin::RsyncPlugin()
    : Plugin("rsync", "1.0.0",
             "File-sync backups with rsync: paths, dry run, ssh route, open files") {
  for (const CheckSpec& c : {paths_check(), dry_run_check(), remote_check(), open_files_check()})
    add_check(c.type, c.summary, c.doc, c.schema, c.run);
}

}  // namespace backup_doctor::rsync
