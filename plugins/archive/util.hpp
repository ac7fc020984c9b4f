// Text helpers of the archive checks: all from the SDK, so every plugin's messages look alike.
#pragma once

#include <backup_doctor/text.hpp>

namespace backup_doctor::archive {

using sdk::human_size;  // "1.5 GiB", "812 KiB", "17 B"
using sdk::iso_time;    // "2024-11-29T03:00:12Z"
using sdk::shell_quote;

}  // namespace backup_doctor::archive
