// Deep verification of a dump: restore it into a scratch database created for this run (unique
// name) on a given server, run row-count queries there, and drop it again. Nothing else on the
// server is touched: only a database this run created is ever dropped, on every path (also
// when the check is cancelled before its timeout).
//
// A dump is untrusted input: pg_restore and psql run as an unprivileged account (`run_as`) and
// read it from our descriptor; psql gets a plain dump through ScriptGuard (no meta-command,
// no cluster statement); the restore role must not be able to reach beyond the database it
// restores into (no superuser, no CREATEROLE, no pg_execute_server_program and the like).
#pragma once

#include <backup_doctor/sdk.hpp>

#include <backup_doctor/support/process.hpp>
#include "connection.hpp"
#include "dump_inspect.hpp"
#include "dump_source.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::pg {

struct RestoreQuery {
  std::string name, sql;
  std::optional<double> min, max;
};

struct RestoreOptions {
  ConnParams server;  // dbname: the maintenance database to connect to (default "postgres")
  std::string prefix = "bd_verify_";
  std::vector<RestoreQuery> queries;
  std::chrono::milliseconds timeout{30 * 60 * 1000};
  int jobs = 1;
  std::string pg_restore = "pg_restore", psql = "psql";  // resolved paths
  std::optional<support::UserIds> run_as;                // nothing: as ourselves
  size_t max_items = 20;
};

struct RestoreOutcome {
  std::string database;
  bool created = false, dropped = false;
  // The restore could not be attempted (connection, CREATE DATABASE, tools).
  std::string setup_error, setup_remediation;
  double restore_seconds = 0;
  std::string restore_status;  // pg_restore/psql exit description
  bool restore_ok = false;
  bool cancelled = false;
  // Plain dumps: psql with \restrict (else strict strings and ON_ERROR_STOP=1), and where the
  // stream into psql was stopped (the file changed since the scan, or it cannot be read).
  bool psql_restricted = false;
  std::string stopped_at;
  int jobs_used = 1;
  std::string jobs_note;
  std::vector<std::string> errors;  // first max_items error lines
  size_t error_count = 0;
  // Plain dumps set owners and grants with statements a non-superuser cannot run, and name
  // roles the scratch server may lack; those do not make the data unrestorable.
  size_t ownership_errors = 0;
  std::vector<std::string> query_failures;
  nlohmann::json query_results = nlohmann::json::array();
  std::string drop_error;
  std::vector<std::string> leftovers;  // scratch databases of earlier, interrupted runs
};

RestoreOutcome scratch_restore(const DumpSource& dump, const DetectedFormat& format,
                               const RestoreOptions& options, sdk::Context& r);

// The schema of the `restore` parameter of pg.dump_verify.
nlohmann::json restore_schema();
RestoreOptions parse_restore_options(const nlohmann::json& restore);

}  // namespace backup_doctor::pg
