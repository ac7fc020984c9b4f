// The check types of the pg plugin: checks/<type>.cpp defines <type>_check() for check type
// "pg.<type>"; pg_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::pg {

sdk::CheckType connect_check();
sdk::CheckType connection_headroom_check();
sdk::CheckType role_check();
sdk::CheckType privileges_check();
sdk::CheckType dump_compat_check();
sdk::CheckType extensions_check();
sdk::CheckType wal_archiving_check();
sdk::CheckType dump_verify_check();

}  // namespace backup_doctor::pg
