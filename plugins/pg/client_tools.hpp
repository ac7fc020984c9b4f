// The PostgreSQL client programs pg.dump_verify runs on a dump (pg_restore, psql): which binary,
// whether only root can change it, and as whom it runs. A dump is untrusted input, so these
// programs never run as root on it, and never from a place another user can change: such a
// program would see the dump and, for the deep restore, the restore role's password file.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <backup_doctor/support/process.hpp>

#include <optional>
#include <string>

namespace backup_doctor::pg {

struct ClientTool {
  std::string requested;  // as configured
  std::string path;       // what runs
  std::string problem;    // why it must not or cannot run ("" when fine)
  std::string remediation;
};

// Resolves `requested` (a name on PATH or an absolute path) for the program `name`. Debian's
// pg_wrapper (a Perl script that picks a version by cluster settings) is bypassed for the
// newest installed /usr/lib/postgresql/N/bin/<name>, which reads every older archive.
ClientTool resolve_client(const std::string& requested, const std::string& name);

// The account the tools run as: `run_as` when we are root (never root itself), else ourselves
// (nothing). Throws sdk::CheckError for an unknown account or root.
std::optional<support::UserIds> tool_account(const std::string& run_as);

// Does a psql of this version (server_version_num style) have \restrict? 13.22, 14.19, 15.14,
// 16.10, 17.6 and later do.
bool psql_has_restrict(int version);

}  // namespace backup_doctor::pg
