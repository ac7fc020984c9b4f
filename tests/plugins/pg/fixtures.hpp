// The shared clusters of the pg tests, started on first use and stopped at exit.
//
// main(): PostgreSQL 15 with SSL, working WAL archiving into wal_archive_dir(), database
//   `trixtech` (schemas public and booking, tables, sequences, pg_trgm) and `rlsdb` (a table with
//   row-level security), and the roles below.
// second(): a relocated install without pg_trgm, no SSL, archive_command = 'false'.
#pragma once

#include "pg_plugin.hpp"
#include "pg_server.hpp"

#include <backup_doctor/testing.hpp>

#include <filesystem>
#include <string>

namespace backup_doctor::test::pg {

// Roles of main(); each password is distinctive so tests can prove it never leaks.
inline const std::string kBackupUser = "backup_user", kBackupPw = "Ok-Pw-7f3a9c";
inline const std::string kNoGrants = "backup_nogrants", kNoGrantsPw = "Ng-Pw-51b2e0";
inline const std::string kPartial = "backup_partial", kPartialPw = "Pa-Pw-0c77d1";
inline const std::string kExpired = "backup_expired", kExpiredPw = "Ex-Pw-9e41aa";
inline const std::string kExpiring = "backup_expiring", kExpiringPw = "Es-Pw-3d0f12";
inline const std::string kReader = "backup_reader", kReaderPw = "Rd-Pw-77aa01";
inline const std::string kLimited = "backup_limited", kLimitedPw = "Li-Pw-19cc42";
inline const std::string kNoLogin = "backup_nologin";
inline const std::string kSslUser = "ssl_user", kSslPw = "Ssl-Pw-8b1d";
inline const std::string kRestorer = "restorer", kRestorerPw = "Rs-Pw-44e9";

PgServer& main_server();
std::filesystem::path wal_archive_dir();  // main()'s archive_command destination
PgServer& second_server();
std::filesystem::path second_archive_dir();

struct Dumps {
  std::filesystem::path custom, plain, plain_gz, tar, directory, schema_only, with_create;
  std::filesystem::path truncated_custom, truncated_plain, truncated_gz, custom_gz, not_a_dump;
};
// Real pg_dump output of trixtech (made on first use) and damaged copies.
const Dumps& dumps();

// Everything a result says, for leak checks.
std::string all_text(const backup_doctor::testing::Result& r);

backup_doctor::testing::Result run(const std::string& type, const nlohmann::json& params);

}  // namespace backup_doctor::test::pg
