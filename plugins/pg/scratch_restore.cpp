#include "scratch_restore.hpp"

#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/user_access.hpp>
#include "client_tools.hpp"
#include "schema.hpp"
#include "script_guard.hpp"
#include "secrets.hpp"
#include "tool_connection.hpp"
#include "versions.hpp"

#include <backup_doctor/duration.hpp>

#include <cstdlib>
#include <ctime>
#include <random>
#include <sstream>

namespace backup_doctor::pg {

namespace {

constexpr const char* kComment = "backup-doctor scratch restore";
// After a cancellation the check has a moment before it is killed: the tools get little time
// to stop, and cleanup on the server little time to finish.
constexpr std::chrono::milliseconds kToolGrace{300};
constexpr std::chrono::milliseconds kCleanupTimeout{1500};

std::string unique_name(const std::string& prefix) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", std::gmtime(&t));
  std::random_device rd;
  char rnd[16];
  std::snprintf(rnd, sizeof rnd, "%08x", rd());
  return prefix + stamp + "_" + rnd;
}

// Error lines of pg_restore ("pg_restore: error: ...") or psql ("psql:file:12: ERROR:  ...").
void collect_errors(const std::string& err, RestoreOutcome& out, size_t max_items) {
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    bool is_error = line.find("ERROR:") != std::string::npos ||
                    line.rfind("pg_restore: error:", 0) == 0 ||
                    line.find("FATAL:") != std::string::npos;
    if (!is_error) continue;
    if (line.find("must be member of role") != std::string::npos ||
        line.find("must be owner of") != std::string::npos ||
        (line.find("role \"") != std::string::npos &&
         line.find("\" does not exist") != std::string::npos)) {
      ++out.ownership_errors;
      continue;
    }
    ++out.error_count;
    if (out.errors.size() < max_items) out.errors.push_back(line);
  }
}

bool reporter_cancelled(void* arg) {
  return sdk::context_cancelled(arg);
}

// A restore role that can reach beyond the database it restores into: why, or "".
struct RoleRefusal {
  std::string summary, remediation;
};

std::optional<RoleRefusal> dangerous_role(Connection& conn) {
  QueryResult q = conn.query(
      "SELECT r.rolsuper, r.rolcreaterole, coalesce((SELECT string_agg(g.rolname, ', ' ORDER BY "
      "g.rolname) FROM pg_roles g WHERE g.rolname IN ('pg_execute_server_program', "
      "'pg_read_server_files', 'pg_write_server_files') AND pg_has_role(r.oid, g.oid, "
      "'USAGE')), '') AS server_roles FROM pg_roles r WHERE r.rolname = current_user");
  if (q.rows.empty()) return std::nullopt;
  std::string role = conn.user(), ident = sql_ident(role);
  const std::string fix =
      "Restore as a role that can only log in and create databases and owns no other "
      "database, e.g. `CREATE ROLE bd_restore LOGIN CREATEDB PASSWORD '...';`, and give it in "
      "`restore` (user, and the password as a secret).";
  if (q.text(0, "rolsuper") == "t")
    return RoleRefusal{"The restore role " + role +
                           " is a superuser: a dump restored by it could run programs on the "
                           "database server (COPY ... TO PROGRAM), read and write its files, and "
                           "change every database",
                       fix};
  if (q.text(0, "rolcreaterole") == "t")
    return RoleRefusal{"The restore role " + role +
                           " has CREATEROLE: a dump restored by it could create and change "
                           "roles (on PostgreSQL 15 and older, grant itself "
                           "pg_execute_server_program and so run programs on the server)",
                       "`ALTER ROLE " + ident + " NOCREATEROLE;`, or: " + fix};
  std::string server_roles = q.text(0, "server_roles");
  if (!server_roles.empty())
    return RoleRefusal{"The restore role " + role + " has the privileges of " + server_roles +
                           ": a dump restored by it could run programs on the database server "
                           "or read and write its files (COPY ... PROGRAM, COPY to a file)",
                       "Revoke them (`REVOKE " + server_roles + " FROM " + ident +
                           ";`, also from the roles it is a member of), or: " + fix};
  return std::nullopt;
}

// A connection to the server with nothing that can cancel it: for cleanup.
std::unique_ptr<Connection> cleanup_connection(const ConnParams& admin_params) {
  ConnParams p = admin_params;
  p.timeout = std::min(p.timeout, kCleanupTimeout);
  return connect(p).conn;
}

}  // namespace

void drop_scratch(Connection* conn, const ConnParams& admin_params, RestoreOutcome& out) {
  std::string stmt = "DROP DATABASE IF EXISTS " + sql_ident(out.database);
  auto drop = [&](Connection& c) {
    c.set_cancelled({});  // the check may be cancelled: this must still happen
    if (c.server_version_num() >= 130000) {
      c.query(stmt + " WITH (FORCE)", {}, kCleanupTimeout);
    } else {
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
              {out.database}, kCleanupTimeout);
      c.query(stmt, {}, kCleanupTimeout);
    }
    out.dropped = true;
  };
  if (conn) {
    try {
      drop(*conn);
      return;
    } catch (const QueryError& e) {
      if (!e.sqlstate.empty()) {  // the server refused: a reconnect would not help
        out.drop_error = e.what();
        return;
      }
    }
  }
  // The maintenance connection was lost during a long restore: reconnect once.
  std::unique_ptr<Connection> again = cleanup_connection(admin_params);
  if (!again) {
    out.drop_error = "could not connect to drop it";
    return;
  }
  try {
    drop(*again);
  } catch (const QueryError& e) {
    out.drop_error = e.what();
  }
}

void restore_into_scratch(Connection& conn, const DumpSource& dump, const DetectedFormat& format,
                          const RestoreOptions& o, sdk::Context& r, RestoreOutcome& out);

RestoreOutcome scratch_restore(const DumpSource& dump, const DetectedFormat& format,
                               const RestoreOptions& o, sdk::Context& r) {
  RestoreOutcome out;
  auto cancelled = [&r] { return r.cancelled(); };
  ConnParams admin_params = o.server;
  if (admin_params.dbname.empty()) {
    admin_params.keywords.emplace_back("dbname", "postgres");
    admin_params.dbname = "postgres";
  }
  ConnectResult admin = connect(admin_params, cancelled);
  if (!admin.conn) {
    Diagnosis d = explain(admin.failure);
    out.setup_error = "Restore server: " + d.summary;
    out.setup_remediation = d.remediation;
    return out;
  }
  Connection& conn = *admin.conn;
  if (std::string why = password_exposure(conn); !why.empty()) {
    r.note("restore_password_exposure", why + "; use sslmode verify-full with sslrootcert");
    r.info("note (restore server): " + why);
  }
  if (auto refusal = dangerous_role(conn)) {
    out.setup_error = refusal->summary;
    out.setup_remediation = refusal->remediation;
    return out;
  }

  QueryResult left = conn.query(
      "SELECT datname FROM pg_database d "
      "WHERE shobj_description(d.oid, 'pg_database') LIKE $1 ORDER BY 1",
      {std::string(kComment) + "%"});
  for (const auto& row : left.rows) out.leftovers.push_back(row[0].value_or(""));

  out.database = unique_name(o.prefix);
  try {
    conn.query("CREATE DATABASE " + sql_ident(out.database) + " TEMPLATE template0");
  } catch (const QueryError& e) {
    out.setup_error = "Could not create the scratch database " + out.database + ": " + e.what();
    out.setup_remediation =
        e.sqlstate == "42501"
            ? "The restore role needs CREATEDB: `ALTER ROLE " + sql_ident(conn.user()) +
                  " CREATEDB;` (or connect the restore as a role that has it)."
            : "Check the restore server's log; the role must be able to CREATE DATABASE.";
    return out;
  }
  out.created = true;

  // From here on the scratch database is dropped whatever happens.
  try {
    restore_into_scratch(conn, dump, format, o, r, out);
  } catch (const sdk::CheckError& e) {
    out.setup_error = e.what();
    out.setup_remediation = e.remediation();
  } catch (...) {
    drop_scratch(&conn, admin_params, out);
    throw;
  }
  drop_scratch(&conn, admin_params, out);
  return out;
}

namespace {

struct ToolRun {
  std::vector<std::string> argv;
  support::UniqueFd input;  // the program's stdin (archive formats)
  std::unique_ptr<DumpReader> reader;
  std::unique_ptr<ScriptGuard> guard;  // plain dumps
  std::string read_error;
};

// psql's version, asked of psql itself as the account it runs as.
std::optional<int> psql_version(const RestoreOptions& o, sdk::Context& r) {
  support::ProcessOptions po;
  po.timeout = std::chrono::seconds(15);
  po.as_user = o.run_as;
  po.cancelled = reporter_cancelled;
  po.cancelled_arg = &r;
  auto res = support::run_process({o.psql, "--version"}, po);
  return res.ok() ? parse_version_text(res.out) : std::nullopt;
}

void plain_run(const DumpSource& dump, const RestoreOptions& o, sdk::Context& r,
               RestoreOutcome& out, ToolRun& run) {
  std::optional<int> version = psql_version(o, r);
  out.psql_restricted = version && psql_has_restrict(*version);
  run.guard = std::make_unique<ScriptGuard>(out.psql_restricted ? ScriptGuard::Mode::restricted
                                                                : ScriptGuard::Mode::strict);
  run.reader = std::make_unique<DumpReader>(dump.fd.get());
  if (!run.reader->ok())
    throw sdk::CheckError("The dump cannot be read any more: " + run.reader->error(),
                          "It changed since it was checked; rerun the check.");
  // Without \restrict, psql must stop at the first error (see ScriptGuard).
  run.argv = {o.psql, "-X", "-q",
              "-w",   "-v", out.psql_restricted ? "ON_ERROR_STOP=0" : "ON_ERROR_STOP=1",
              "-f",   "-"};
}

// pg_restore reads the dump from its stdin, our descriptor: it never opens the path. Only a
// directory-format dump and a parallel restore need a name, /proc/self/fd/0, which the account
// it runs as must be able to open.
void archive_run(const DumpSource& dump, const DetectedFormat& format, const RestoreOptions& o,
                 const std::string& database, RestoreOutcome& out, ToolRun& run) {
  run.input = dump.reopen();
  if (!run.input)
    throw sdk::CheckError("The dump cannot be opened again for pg_restore", "Rerun the check.");
  run.argv = {o.pg_restore, "--no-owner", "--no-privileges", "-w", "--dbname=" + database};
  std::string by_name = "/proc/self/fd/" + std::to_string(run.input.get());
  bool named = format.format == DumpFormat::directory;
  if (o.jobs > 1 && format.format == DumpFormat::custom) {
    bool readable =
        !o.run_as || support::test_access_as(*o.run_as, by_name, support::Access::read).allowed;
    if (readable) {
      named = true;
      out.jobs_used = o.jobs;
      run.argv.push_back("--jobs=" + std::to_string(o.jobs));
    } else {
      out.jobs_note =
          "restored with one job: parallel pg_restore needs to open the file by "
          "name, and " +
          o.run_as->name + " cannot read it";
    }
  } else if (o.jobs > 1 && format.format == DumpFormat::directory) {
    out.jobs_used = o.jobs;
    run.argv.push_back("--jobs=" + std::to_string(o.jobs));
  } else if (o.jobs > 1) {
    out.jobs_note = "restored with one job: pg_restore restores tar archives with one job only";
  }
  if (named) run.argv.push_back("/proc/self/fd/0");
}

}  // namespace

void restore_into_scratch(Connection& conn, const DumpSource& dump, const DetectedFormat& format,
                          const RestoreOptions& o, sdk::Context& r, RestoreOutcome& out) {
  auto cancelled = [&r] { return r.cancelled(); };
  try {
    conn.query("COMMENT ON DATABASE " + sql_ident(out.database) + " IS " +
               sql_literal(std::string(kComment) + " of " + dump.path +
                           "; created by backup-doctor pg.dump_verify, safe to drop"));
  } catch (const QueryError&) {
    // Only a marker for later runs; not worth failing over.
  }
  ToolConnection tool(conn, o.run_as);
  ToolRun run;
  if (format.format == DumpFormat::plain)
    plain_run(dump, o, r, out, run);
  else
    archive_run(dump, format, o, out.database, out, run);

  support::ProcessOptions po;
  po.env = tool.environment(out.database);
  po.env["PGCLIENTENCODING"] = "UTF8";  // never one of the encodings psql lexes differently
  po.as_user = o.run_as;
  po.timeout = o.timeout;
  po.kill_grace = kToolGrace;
  po.max_output = 4 * 1024 * 1024;
  po.cancelled = reporter_cancelled;
  po.cancelled_arg = &r;
  std::vector<char> block(1 << 18);
  if (run.guard) {
    po.stdin_producer = [&](std::string& chunk) {
      long n = run.reader->read(block.data(), block.size());
      if (n < 0) run.read_error = run.reader->error();
      if (n <= 0) {
        run.guard->finish(chunk);
        return false;
      }
      return run.guard->take(std::string_view(block.data(), static_cast<size_t>(n)), chunk);
    };
  } else {
    po.stdin_fd = run.input.get();
  }
  auto started = std::chrono::steady_clock::now();
  support::ProcessResult res = support::run_process(run.argv, po);
  out.restore_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out.restore_status = res.describe();
  out.cancelled = res.cancelled;
  collect_errors(res.err, out, o.max_items);
  if (!res.started) {
    out.setup_error = "Could not run " + run.argv[0] + ": " + res.start_error;
    out.setup_remediation =
        "Install the PostgreSQL client tools (postgresql-client) or give the path of " +
        run.argv[0] + ".";
    return;
  }
  if (run.guard && run.guard->stop()) {
    const ScriptFinding& f = *run.guard->stop();
    out.stopped_at = "line " + std::to_string(f.line) + ": " + f.what;
  } else if (!run.read_error.empty()) {
    out.stopped_at = "reading the dump failed: " + run.read_error;
  }
  out.restore_ok = res.ok() && out.error_count == 0 && out.stopped_at.empty();

  // Row counts and other checks the operator asked for, inside the scratch database only.
  ConnParams in_scratch = o.server;
  for (auto& [k, v] : in_scratch.keywords)
    if (k == "dbname") v = out.database;
  if (in_scratch.dbname.empty()) in_scratch.keywords.emplace_back("dbname", out.database);
  in_scratch.dbname = out.database;
  if (o.queries.empty() || res.timed_out || res.cancelled || r.cancelled()) return;
  ConnectResult sc = connect(in_scratch, cancelled);
  if (!sc.conn) {
    out.query_failures.push_back("could not connect to the scratch database: " +
                                 sc.failure.message);
    return;
  }
  for (const auto& q : o.queries) {
    nlohmann::json result = {{"name", q.name}, {"sql", q.sql}};
    try {
      auto v = sc.conn->value(q.sql);
      result["value"] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
      std::optional<double> number;
      if (v) {
        char* end = nullptr;
        double d = std::strtod(v->c_str(), &end);
        if (end && *end == '\0' && !v->empty()) number = d;
      }
      if ((q.min || q.max) && !number) {
        out.query_failures.push_back(q.name + ": returned '" + v.value_or("NULL") +
                                     "', not a number");
      } else if (q.min && *number < *q.min) {
        out.query_failures.push_back(q.name + ": " + *v + " is below the expected minimum " +
                                     nlohmann::json(*q.min).dump());
      } else if (q.max && *number > *q.max) {
        out.query_failures.push_back(q.name + ": " + *v + " is above the expected maximum " +
                                     nlohmann::json(*q.max).dump());
      }
    } catch (const QueryError& e) {
      result["error"] = e.what();
      out.query_failures.push_back(q.name + ": " + e.what());
    }
    out.query_results.push_back(result);
  }
}

nlohmann::json restore_schema() {
  using namespace schema;
  json props = connection_properties();
  props["dbname"] = string_prop(
      "Maintenance database to connect to for CREATE/DROP DATABASE. Default \"postgres\".",
      "postgres");
  props["queries"] = {
      {"type", "array"},
      {"description",
       "Queries run in the restored scratch database, e.g. {\"sql\": \"SELECT count(*) FROM "
       "users\", \"min\": 1}. The first column of the first row is compared with min/max. "
       "Default: none."},
      {"items", object({{"sql", string_prop("The query.")},
                        {"name", string_prop("Name shown in the report. Default: the query text.")},
                        {"min",
                         {{"type", "number"},
                          {"description", "Smallest acceptable value. Default: no minimum."}}},
                        {"max",
                         {{"type", "number"},
                          {"description", "Largest acceptable value. Default: no maximum."}}}},
                       {"sql"})}};
  props["jobs"] = integer_prop(
      "Parallel restore jobs (pg_restore --jobs; custom and directory formats). A parallel "
      "restore of a custom-format file opens it by name, so `run_as` must be able to read it; "
      "when it cannot, one job is used and the details say so. Default 1.",
      1, 1);
  props["scratch_prefix"] = {
      {"type", "string"},
      {"pattern", "^[a-z_][a-z0-9_]{0,30}$"},
      {"default", "bd_verify_"},
      {"description",
       "Prefix of the scratch database's name; a timestamp and a random suffix follow, so it "
       "never names an existing database. Default \"bd_verify_\"."}};
  props["timeout"] = sdk::duration_schema(
      "Give up on the restore after this long (keep the check's own timeout longer). Default "
      "\"30m\".",
      "30m");
  props["psql"] = string_prop(
      "psql used to restore plain SQL dumps (a name on PATH or a path; as root, only one that "
      "root alone can change). Default \"psql\".",
      "psql");
  json s = object(props);
  s["description"] =
      "Deep mode (opt-in, writes to the given server): restore the dump into a new scratch "
      "database with a unique name, run `queries` there, report the time to restore, and drop "
      "it. Never touches any other database. The role needs CREATEDB, and must not be a "
      "superuser, have CREATEROLE, or have the privileges of pg_execute_server_program, "
      "pg_read_server_files or pg_write_server_files (a dump restored by such a role could "
      "reach beyond the scratch database). Default: not done.";
  return s;
}

RestoreOptions parse_restore_options(const nlohmann::json& j) {
  RestoreOptions o;
  o.server = parse_connection(j);
  o.prefix = j.value("scratch_prefix", std::string("bd_verify_"));
  o.jobs = j.value("jobs", 1);
  o.psql = j.value("psql", std::string("psql"));
  auto t = parse_duration(j.value("timeout", std::string("30m")));
  if (!t) throw sdk::CheckError("restore.timeout is not a duration");
  o.timeout = *t;
  for (const auto& q : j.value("queries", nlohmann::json::array())) {
    RestoreQuery rq;
    rq.sql = q.at("sql").get<std::string>();
    rq.name = q.value("name", rq.sql);
    if (q.contains("min")) rq.min = q["min"].get<double>();
    if (q.contains("max")) rq.max = q["max"].get<double>();
    o.queries.push_back(rq);
  }
  return o;
}

}  // namespace backup_doctor::pg
