#include "files_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::files {

FilesPlugin::FilesPlugin()
    : Plugin("files", "1.0.0",
             "Backup files and directories: existence, permissions, access by the backup user, "
             "freshness and size of the newest backup, errors in backup logs, required tools") {
  add(exists_check());
  add(mode_check());
  add(access_check());
  add(freshness_check());
  add(log_scan_check());
  add(tools_check());
}

}  // namespace backup_doctor::files
