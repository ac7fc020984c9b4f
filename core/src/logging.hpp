// Logging to stderr through spdlog, with every line scrubbed of registered secrets.
#pragma once

#include <string>

namespace backup_doctor {

// level: trace, debug, info, warn, error, off. Returns false for an unknown level.
bool setup_logging(const std::string& level, bool color);

}  // namespace backup_doctor
