// The check types of the resources plugin; each lives in its own <name>_check.cpp.
#pragma once

#include "hooks.hpp"

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::resources {

struct CheckSpec {
  std::string type;
  std::string summary;
  std::string doc;
  std::string schema;  // JSON Schema text, ready to use
  void (*run)(const nlohmann::json& params, sdk::Context& ctx, const Hooks& hooks);
};

CheckSpec disk_check();
CheckSpec memory_check();
CheckSpec cpu_check();
CheckSpec io_check();
CheckSpec backup_process_check();

}  // namespace backup_doctor::resources
