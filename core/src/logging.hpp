// Logging to stderr through spdlog, with every line scrubbed of registered secrets.
#pragma once

#include "scrubber.hpp"

#include <memory>
#include <string>

namespace backup_doctor {

// level: trace, debug, info, warn, error, off. Returns false for an unknown level. Every line is
// scrubbed with `scrubber`, which holds the secrets the run resolves (added after this call).
bool setup_logging(const std::string& level, bool color, std::shared_ptr<const Scrubber> scrubber);

}  // namespace backup_doctor
