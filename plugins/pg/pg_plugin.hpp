// The `pg` plugin: PostgreSQL backup diagnostics over libpq.
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::pg {

class PgPlugin : public sdk::Plugin {
 public:
  PgPlugin();

  // Every "password" in a check's parameters is masked in everything it reports.
  void before_check(const nlohmann::json& params, sdk::Context& ctx) const override;
  // Errors are results with a remediation the operator can act on; a result reported before
  // the exception stands.
  bool on_exception(const std::exception& e, sdk::Context& ctx) const override;
};

}  // namespace backup_doctor::pg
