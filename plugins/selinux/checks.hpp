// The check types of the selinux plugin; each lives in its own <name>_check.cpp.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::selinux {

struct CheckSpec {
  std::string type;
  std::string summary;
  std::string doc;
  std::string schema;  // JSON Schema text, ready to use
  void (*run)(const nlohmann::json& params, sdk::Context& ctx);
};

CheckSpec status_check();
CheckSpec contexts_check();
CheckSpec denials_check();

}  // namespace backup_doctor::selinux
