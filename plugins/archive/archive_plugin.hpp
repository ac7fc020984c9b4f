// backup-doctor's archive plugin: verifies tar archives in one streaming pass and checks what
// a restore from them needs.
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::archive {

class ArchivePlugin : public sdk::Plugin {
 public:
  ArchivePlugin();
};

}  // namespace backup_doctor::archive
