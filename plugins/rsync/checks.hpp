// The check types of the rsync plugin: checks/<type>.cpp defines <type>_check() for check type
// "rsync.<type>"; rsync_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::rsync {

sdk::CheckType paths_check();
sdk::CheckType dry_run_check();
sdk::CheckType remote_check();
sdk::CheckType open_files_check();

}  // namespace backup_doctor::rsync
