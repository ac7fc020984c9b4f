// The check types of the archive plugin, one source file each.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::archive {

struct CheckDefinition {
  std::string type, summary, doc, schema;
  void (*run)(const nlohmann::json& params, sdk::Context& ctx);
};

CheckDefinition verify_check();
CheckDefinition compare_source_check();
CheckDefinition restore_space_check();
CheckDefinition leftovers_check();

}  // namespace backup_doctor::archive
