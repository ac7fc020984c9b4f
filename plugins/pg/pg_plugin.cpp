#include "pg_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::pg {

PgPlugin::PgPlugin()
    : Plugin("pg", "1.0.0",
             "PostgreSQL backup diagnostics over libpq: connectivity, roles, privileges, dump "
             "tools, extensions, WAL archiving and dump files") {
  for (auto make : {connect_check, connection_headroom_check, role_check, privileges_check,
                    dump_compat_check, extensions_check, wal_archiving_check, dump_verify_check}) {
    CheckDef def = make();
    add_check(def.type, def.summary, def.doc, def.schema, std::move(def.run));
  }
}

}  // namespace backup_doctor::pg
