// The secrets a pg check is given: every "password" value in its parameters, at any depth. The
// plugin tells each check's context about them (PgPlugin::before_check), so none can reach a
// summary, remediation, details, log line or metric label, even through libpq's or a tool's
// own messages.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace backup_doctor::pg {

// Collects the values of every "password" key in `params`, at any depth, longest first.
std::vector<std::string> collect_secrets(const nlohmann::json& params);

}  // namespace backup_doctor::pg
