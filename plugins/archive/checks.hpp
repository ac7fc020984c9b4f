// The check types of the archive plugin: checks/<type>.cpp defines <type>_check() for check type
// "archive.<type>"; archive_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::archive {

sdk::CheckType verify_check();
sdk::CheckType compare_source_check();
sdk::CheckType restore_space_check();
sdk::CheckType leftovers_check();

}  // namespace backup_doctor::archive
