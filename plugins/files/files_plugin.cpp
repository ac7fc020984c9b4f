#include "files_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::files {

FilesPlugin::FilesPlugin()
    : Plugin("files", "1.0.0",
             "Backup files and directories: existence, permissions, access by the backup user, "
             "freshness and size of the newest backup, errors in backup logs, required tools") {
  for (CheckSpec (*make)() : {&exists_check, &mode_check, &access_check, &freshness_check,
                              &log_scan_check, &tools_check}) {
    CheckSpec spec = make();
    add_check(spec.type, spec.summary, spec.doc, spec.schema, spec.run);
  }
}

}  // namespace backup_doctor::files
