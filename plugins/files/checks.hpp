// The check types of the files plugin: checks/<type>.cpp defines <type>_check() for check type
// "files.<type>"; files_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::files {

sdk::CheckType exists_check();
sdk::CheckType mode_check();
sdk::CheckType access_check();
sdk::CheckType freshness_check();
sdk::CheckType log_scan_check();
sdk::CheckType tools_check();

}  // namespace backup_doctor::files
