// The check types of the pg plugin, one factory per source file.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::pg {

struct CheckDef {
  std::string type;
  std::string summary;
  std::string doc;
  std::string schema;  // JSON Schema text for the check's parameters
  sdk::CheckFunction run;
};

CheckDef connect_check();
CheckDef connection_headroom_check();
CheckDef role_check();
CheckDef privileges_check();
CheckDef dump_compat_check();
CheckDef extensions_check();
CheckDef wal_archiving_check();
CheckDef dump_verify_check();

}  // namespace backup_doctor::pg
