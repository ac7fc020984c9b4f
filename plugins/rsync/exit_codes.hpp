// rsync's exit codes (see "EXIT VALUES" in rsync(1)) and what each one means for a backup job.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::rsync {

struct ExitCodeInfo {
  int code = 0;
  const char* name = "";     // stable snake_case key for details, "partial_transfer"
  const char* meaning = "";  // rsync's own wording, shortened
  sdk::Status status = sdk::Status::fail;
  const char* advice = "";  // what usually causes it and where to look, in our words
};

// Known codes get their entry; any other code gets a generic one carrying that number.
ExitCodeInfo describe_exit_code(int code);

}  // namespace backup_doctor::rsync
