#include "scratch_restore.hpp"

#include "process.hpp"
#include "reporter.hpp"
#include "schema.hpp"

#include <backup_doctor/duration.hpp>

#include <cstdlib>
#include <ctime>
#include <random>
#include <sstream>

namespace backup_doctor::pg {

namespace {

constexpr const char* kComment = "backup-doctor scratch restore";

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

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "bd-pg-restore-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

void drop_scratch(Connection& conn, const ConnParams& admin_params, RestoreOutcome& out) {
  std::string stmt = "DROP DATABASE IF EXISTS " + sql_ident(out.database);
  auto drop = [&](Connection& c) {
    c.query(stmt + (c.server_version_num() >= 130000 ? " WITH (FORCE)" : ""));
    out.dropped = true;
  };
  try {
    drop(conn);
    return;
  } catch (const QueryError& e) {
    if (!e.sqlstate.empty()) {  // the server refused: a reconnect would not help
      out.drop_error = e.what();
      return;
    }
  }
  // The maintenance connection was lost during a long restore: reconnect once.
  ConnectResult again = connect(admin_params);
  if (!again.conn) {
    out.drop_error = again.failure.message;
    return;
  }
  try {
    drop(*again.conn);
  } catch (const QueryError& e) {
    out.drop_error = e.what();
  }
}

void restore_into_scratch(Connection& conn, const std::filesystem::path& dump,
                          const DetectedFormat& format, const RestoreOptions& o, Reporter& r,
                          RestoreOutcome& out);

RestoreOutcome scratch_restore(const std::filesystem::path& dump, const DetectedFormat& format,
                               const RestoreOptions& o, Reporter& r) {
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
  } catch (...) {
    drop_scratch(conn, admin_params, out);
    throw;
  }
  drop_scratch(conn, admin_params, out);
  return out;
}

void restore_into_scratch(Connection& conn, const std::filesystem::path& dump,
                          const DetectedFormat& format, const RestoreOptions& o, Reporter& r,
                          RestoreOutcome& out) {
  auto cancelled = [&r] { return r.cancelled(); };
  try {
    conn.query("COMMENT ON DATABASE " + sql_ident(out.database) + " IS " +
               sql_literal(std::string(kComment) + " of " + dump.string() +
                           "; created by backup-doctor pg.dump_verify, safe to drop"));
  } catch (const QueryError&) {
    // Only a marker for later runs; not worth failing over.
  }

  ConnParams target = o.server;
  std::map<std::string, std::string> env = target.environment();
  env["PGDATABASE"] = out.database;
  support::ProcessOptions po;
  po.env = env;
  po.timeout = o.timeout;
  po.max_output = 4 * 1024 * 1024;
  po.cancelled = [](void* arg) { return static_cast<Reporter*>(arg)->cancelled(); };
  po.cancelled_arg = &r;

  std::vector<std::string> argv;
  TempDir scratch;
  std::filesystem::path input = dump;
  if (format.format == DumpFormat::plain) {
    if (!format.compression.empty()) {
      if (scratch.path.empty()) {
        out.setup_error = "Could not create a temporary directory to decompress the dump";
        out.setup_remediation = "Check free space and permissions of " +
                                std::filesystem::temp_directory_path().string() + ".";
        return;
      }
      input = scratch.path / "dump.sql";
      std::string err = decompress_to(dump, input, cancelled);
      if (!err.empty()) {
        out.setup_error = "Could not decompress the dump: " + err;
        out.setup_remediation = "The dump file is damaged; see the basic verification above.";
        return;
      }
    }
    argv = {o.psql, "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", out.database, "-f", input.string()};
  } else {
    argv = {o.pg_restore, "--no-owner", "--no-privileges", "-d", out.database};
    if (o.jobs > 1 && format.format != DumpFormat::tar)
      argv.push_back("--jobs=" + std::to_string(o.jobs));
    argv.push_back(input.string());
  }
  auto started = std::chrono::steady_clock::now();
  support::ProcessResult res = support::run_process(argv, po);
  out.restore_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out.restore_status = res.describe();
  collect_errors(res.err, out, o.max_items);
  if (!res.started) {
    out.setup_error = "Could not run " + argv[0] + ": " + res.start_error;
    out.setup_remediation =
        "Install the PostgreSQL client tools (postgresql-client) or give "
        "the path of " +
        argv[0] + ".";
    return;
  }
  out.restore_ok = res.ok() && out.error_count == 0;

  // Row counts and other checks the operator asked for, inside the scratch database only.
  ConnParams in_scratch = o.server;
  for (auto& [k, v] : in_scratch.keywords)
    if (k == "dbname") v = out.database;
  if (in_scratch.dbname.empty()) in_scratch.keywords.emplace_back("dbname", out.database);
  in_scratch.dbname = out.database;
  if (!o.queries.empty() && res.started && !res.timed_out && !res.cancelled) {
    ConnectResult sc = connect(in_scratch, cancelled);
    if (!sc.conn) {
      out.query_failures.push_back("could not connect to the scratch database: " +
                                   sc.failure.message);
    } else {
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
      "Parallel restore jobs (pg_restore --jobs; custom and directory formats). Default 1.", 1, 1);
  props["scratch_prefix"] = {
      {"type", "string"},
      {"pattern", "^[a-z_][a-z0-9_]{0,30}$"},
      {"default", "bd_verify_"},
      {"description",
       "Prefix of the scratch database's name; a timestamp and a random suffix follow, so it "
       "never names an existing database. Default \"bd_verify_\"."}};
  props["timeout"] = duration_prop(
      "Give up on the restore after this long (keep the check's own timeout longer). Default "
      "\"30m\".",
      "30m");
  props["psql"] = string_prop("psql used to restore plain SQL dumps. Default \"psql\".", "psql");
  json s = object(props);
  s["description"] =
      "Deep mode (opt-in, writes to the given server): restore the dump into a new scratch "
      "database with a unique name, run `queries` there, report the time to restore, and drop "
      "it. Never touches any other database. The role needs CREATEDB. Default: not done.";
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
