// The `pg` plugin: PostgreSQL backup diagnostics over libpq.
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::pg {

class PgPlugin : public sdk::Plugin {
 public:
  PgPlugin();
};

}  // namespace backup_doctor::pg
