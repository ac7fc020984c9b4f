// One function per check type; each lives in its own .cpp file.
#pragma once

#include "util.hpp"

namespace backup_doctor::files {

CheckSpec exists_check();
CheckSpec mode_check();
CheckSpec access_check();
CheckSpec freshness_check();
CheckSpec log_scan_check();
CheckSpec tools_check();

}  // namespace backup_doctor::files
