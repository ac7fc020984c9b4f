#include "pg_plugin.hpp"

#include "checks.hpp"
#include "secrets.hpp"

namespace backup_doctor::pg {

PgPlugin::PgPlugin()
    : Plugin("pg", "1.0.0",
             "PostgreSQL backup diagnostics over libpq: connectivity, roles, privileges, dump "
             "tools, extensions, WAL archiving and dump files") {
  add(connect_check());
  add(connection_headroom_check());
  add(role_check());
  add(privileges_check());
  add(dump_compat_check());
  add(extensions_check());
  add(wal_archiving_check());
  add(dump_verify_check());
}

void PgPlugin::before_check(const nlohmann::json& params, sdk::Context& ctx) const {
  for (auto& secret : collect_secrets(params)) ctx.add_secret(std::move(secret));
}

bool PgPlugin::on_exception(const std::exception& e, sdk::Context& ctx) const {
  if (ctx.reported()) return true;
  const auto* check_error = dynamic_cast<const sdk::CheckError*>(&e);
  if (check_error != nullptr && !check_error->remediation().empty())
    ctx.error(e.what(), check_error->remediation());
  else if (check_error != nullptr)
    ctx.error(e.what(), "Correct this check's parameters in the checklist and run it again.");
  else
    ctx.error(std::string("internal error: ") + e.what(),
              "This is a backup-doctor bug or an unexpected server answer; rerun with the "
              "details in a bug report.");
  return true;
}

}  // namespace backup_doctor::pg
