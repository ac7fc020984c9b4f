// pg.connection_headroom: are there connection slots left for the backup?
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <cmath>

namespace backup_doctor::pg {

namespace {

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  long long min_free = params.value("min_free", 5LL);
  double max_usage = params.value("max_usage_percent", 80.0);
  size_t max_items = params.value("max_items", 20);

  auto conn = connect_or_report(cp, r);
  if (!conn) return;

  QueryResult q = conn->query(
      "SELECT current_setting('max_connections')::int AS max_connections, "
      "current_setting('superuser_reserved_connections')::int AS superuser_reserved, "
      "coalesce(current_setting('reserved_connections', true), '0')::int AS reserved, "
      "count(*) FILTER (WHERE a.backend_type = 'client backend') AS client_backends, "
      "count(*) FILTER (WHERE a.backend_type = 'client backend' AND a.state = 'active') AS active, "
      "count(*) FILTER (WHERE a.backend_type = 'client backend' AND a.state = 'idle') AS idle, "
      "count(*) FILTER (WHERE a.backend_type = 'client backend' "
      "                 AND a.state LIKE 'idle in transaction%') AS idle_in_transaction, "
      "count(*) FILTER (WHERE a.backend_type = 'client backend' "
      "                 AND a.datname = current_database()) AS db_backends, "
      "(SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS datconnlimit, "
      "current_database() AS dbname "
      "FROM pg_stat_activity a");
  auto num = [&](const char* col) { return std::stoll(q.text(0, col)); };
  long long max_conn = num("max_connections"), su_reserved = num("superuser_reserved"),
            reserved = num("reserved"), in_use = num("client_backends"), active = num("active"),
            idle = num("idle"), idle_tx = num("idle_in_transaction"),
            db_in_use = num("db_backends"), db_limit = num("datconnlimit");
  std::string dbname = q.text(0, "dbname");
  long long usable = std::max(0LL, max_conn - su_reserved - reserved);
  long long free_slots = std::max(0LL, usable - in_use);
  double usage =
      usable > 0 ? 100.0 * static_cast<double>(in_use) / static_cast<double>(usable) : 100.0;

  QueryResult holders = conn->query(
      "SELECT coalesce(usename, '') AS usename, coalesce(application_name, '') AS "
      "application_name, "
      "coalesce(state, '') AS state, count(*) AS n FROM pg_stat_activity "
      "WHERE backend_type = 'client backend' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT $1",
      {std::to_string(max_items)});
  nlohmann::json top = nlohmann::json::array();
  std::string top_text;
  for (size_t i = 0; i < holders.rows.size(); ++i) {
    top.push_back({{"user", holders.text(i, "usename")},
                   {"application_name", holders.text(i, "application_name")},
                   {"state", holders.text(i, "state")},
                   {"count", std::stoll(holders.text(i, "n"))}});
    if (i < 3)
      top_text += std::string(top_text.empty() ? "" : ", ") + holders.text(i, "n") + " " +
                  holders.text(i, "state") + " of " + holders.text(i, "usename") +
                  (holders.text(i, "application_name").empty()
                       ? std::string()
                       : " (" + holders.text(i, "application_name") + ")");
  }

  nlohmann::json details = {{"max_connections", max_conn},
                            {"superuser_reserved_connections", su_reserved},
                            {"reserved_connections", reserved},
                            {"usable_connections", usable},
                            {"in_use", in_use},
                            {"free", free_slots},
                            {"usage_percent", std::round(usage * 10) / 10},
                            {"active", active},
                            {"idle", idle},
                            {"idle_in_transaction", idle_tx},
                            {"dbname", dbname},
                            {"database_connection_limit", db_limit},
                            {"database_in_use", db_in_use},
                            {"top_holders", top}};
  r.metric("pg_connections_in_use", static_cast<double>(in_use), "count");
  r.metric("pg_connections_available", static_cast<double>(free_slots), "count");
  r.metric("pg_connections_max", static_cast<double>(usable), "count");
  r.metric("pg_connection_usage", usage, "percent");

  std::string counts = std::to_string(in_use) + " of " + std::to_string(usable) +
                       " connection slots in use (" + std::to_string(active) + " active, " +
                       std::to_string(idle) + " idle, " + std::to_string(idle_tx) +
                       " idle in transaction), " + std::to_string(free_slots) + " free";
  std::string fix =
      "Largest holders: " + (top_text.empty() ? std::string("none") : top_text) +
      ". Close or pool idle sessions (pgbouncer in transaction mode), set "
      "idle_in_transaction_session_timeout and idle_session_timeout, end stuck sessions with "
      "`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in "
      "transaction' AND state_change < now() - interval '1 hour';`, or raise max_connections "
      "(currently " +
      std::to_string(max_conn) + "; needs a restart).";

  if (db_limit >= 0) {
    long long db_free = std::max(0LL, db_limit - db_in_use);
    details["database_free"] = db_free;
    if (db_free == 0 || db_free < min_free) {
      std::string s = "Database " + dbname + " allows " + std::to_string(db_limit) +
                      " connections and " + std::to_string(db_in_use) + " are in use";
      std::string fix_db = "Raise the database's limit with `ALTER DATABASE " + sql_ident(dbname) +
                           " CONNECTION LIMIT " + std::to_string(db_in_use + min_free + 5) +
                           ";` or close sessions on it. " + fix;
      if (db_free == 0)
        r.fail(s + ": a backup cannot connect", fix_db, details);
      else
        r.warn(s + ": " + std::to_string(db_free) + " left", fix_db, details);
      return;
    }
  }
  if (free_slots == 0) {
    r.fail("No connection slot left for ordinary roles: " + counts,
           "A backup connecting now fails with 'too many clients'. " + fix, details);
  } else if (free_slots < min_free || usage > max_usage) {
    r.warn("Connection headroom is low: " + counts, fix, details);
  } else {
    r.ok(counts, details);
  }
}

}  // namespace

sdk::CheckType connection_headroom_check() {
  using namespace schema;
  json props = connection_properties();
  props["min_free"] = integer_prop(
      "Warn when fewer connection slots than this are free for ordinary (non-superuser) roles. "
      "Default 5.",
      5, 0);
  props["max_usage_percent"] = number_prop(
      "Warn when more than this percentage of the ordinary connection slots is in use. "
      "Default 80.",
      80, 0, 100);
  props["max_items"] = max_items_prop();
  return {.type = "pg.connection_headroom",
          .summary = "Free connection slots: max_connections minus reserved minus current backends",
          .doc =
              "Counts the client backends in pg_stat_activity (idle ones hold a slot too, so "
              "counting only active sessions understates the problem) against max_connections "
              "minus superuser_reserved_connections (and reserved_connections on PostgreSQL 16+), "
              "and against the database's own CONNECTION LIMIT. Fails when no slot is left, warns "
              "under `min_free` or over `max_usage_percent`, and names the sessions holding the "
              "slots.\n\nMetrics: `pg_connections_in_use`, `pg_connections_available`, "
              "`pg_connections_max` (count), `pg_connection_usage` (percent).",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
