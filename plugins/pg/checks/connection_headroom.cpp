// pg.connection_headroom: are there connection slots left for the backup?
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <algorithm>
#include <cmath>

namespace backup_doctor::pg {

namespace {

// The server's connection slots and the client backends holding them, as pg_stat_activity and
// the settings show them.
struct SlotUse {
  long long max_conn = 0, su_reserved = 0, reserved = 0;
  long long sessions = 0;  // every client backend, in ordinary or reserved slots
  long long active = 0, idle = 0, idle_tx = 0;
  long long db_in_use = 0, db_limit = -1;
  std::string dbname;
  bool own_may_use_reserved = false;  // this check's login role may take a reserved slot

  // Derived: the ordinary slots are max_connections minus the reserved ones. PostgreSQL admits
  // an ordinary role only while fewer sessions than that exist, so sessions beyond them sit in
  // reserved slots (superusers, pg_use_reserved_connections) and do not count against it.
  long long usable = 0, in_use = 0, in_reserved = 0, free_slots = 0;
  double usage = 0;
  bool own_in_reserved = false;
};

SlotUse gather_slot_use(Connection& conn) {
  QueryResult q = conn.query(
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
      "current_database() AS dbname, "
      "coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false) "
      "  AS own_superuser, "
      "EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'pg_use_reserved_connections' "
      "        AND pg_has_role(session_user, r.oid, 'USAGE')) AS own_use_reserved "
      "FROM pg_stat_activity a");
  auto num = [&](const char* col) { return std::stoll(q.text(0, col)); };
  SlotUse u{.max_conn = num("max_connections"),
            .su_reserved = num("superuser_reserved"),
            .reserved = num("reserved"),
            .sessions = num("client_backends"),
            .active = num("active"),
            .idle = num("idle"),
            .idle_tx = num("idle_in_transaction"),
            .db_in_use = num("db_backends"),
            .db_limit = num("datconnlimit"),
            .dbname = q.text(0, "dbname")};
  bool superuser = q.text(0, "own_superuser") == "t";
  bool use_reserved = q.text(0, "own_use_reserved") == "t";
  u.own_may_use_reserved =
      (superuser && u.su_reserved + u.reserved > 0) || (use_reserved && u.reserved > 0);
  return u;
}

void classify_slots(SlotUse& u) {
  u.usable = std::max(0LL, u.max_conn - u.su_reserved - u.reserved);
  u.in_use = std::min(u.sessions, u.usable);
  u.in_reserved = u.sessions - u.in_use;
  u.free_slots = u.usable - u.in_use;
  u.usage =
      u.usable > 0 ? 100.0 * static_cast<double>(u.in_use) / static_cast<double>(u.usable) : 100.0;
  u.own_in_reserved = u.own_may_use_reserved && u.in_reserved > 0;
}

// The sessions holding the most slots, grouped by user, application and state.
struct Holders {
  nlohmann::json list = nlohmann::json::array();
  std::string text;  // the first three, for the remediation
};

Holders gather_holders(Connection& conn, size_t max_items) {
  QueryResult q = conn.query(
      "SELECT coalesce(usename, '') AS usename, coalesce(application_name, '') AS "
      "application_name, "
      "coalesce(state, '') AS state, count(*) AS n FROM pg_stat_activity "
      "WHERE backend_type = 'client backend' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT $1",
      {std::to_string(max_items)});
  Holders h;
  for (size_t i = 0; i < q.rows.size(); ++i) {
    std::string user = q.text(i, "usename"), app = q.text(i, "application_name"),
                state = q.text(i, "state"), n = q.text(i, "n");
    h.list.push_back(
        {{"user", user}, {"application_name", app}, {"state", state}, {"count", std::stoll(n)}});
    if (i < 3)
      h.text += std::string(h.text.empty() ? "" : ", ") + n + " " + state + " of " + user +
                (app.empty() ? std::string() : " (" + app + ")");
  }
  return h;
}

nlohmann::json slot_details(const SlotUse& u, const Holders& holders) {
  return {{"max_connections", u.max_conn},
          {"superuser_reserved_connections", u.su_reserved},
          {"reserved_connections", u.reserved},
          {"usable_connections", u.usable},
          {"in_use", u.in_use},
          {"free", u.free_slots},
          {"usage_percent", std::round(u.usage * 10) / 10},
          {"sessions", u.sessions},
          {"in_reserved_slots", u.in_reserved},
          {"own_session_in_reserved_slot", u.own_in_reserved},
          {"active", u.active},
          {"idle", u.idle},
          {"idle_in_transaction", u.idle_tx},
          {"dbname", u.dbname},
          {"database_connection_limit", u.db_limit},
          {"database_in_use", u.db_in_use},
          {"top_holders", holders.list}};
}

void emit_metrics(const SlotUse& u, sdk::Context& r) {
  r.metric("pg_connections_in_use", static_cast<double>(u.in_use), "count");
  r.metric("pg_connections_available", static_cast<double>(u.free_slots), "count");
  r.metric("pg_connections_max", static_cast<double>(u.usable), "count");
  r.metric("pg_connection_usage", u.usage, "percent");
  r.metric("pg_connections_reserved_in_use", static_cast<double>(u.in_reserved), "count");
}

// "5 active, 12 idle, 0 idle in transaction"
std::string states_text(const SlotUse& u) {
  return std::to_string(u.active) + " active, " + std::to_string(u.idle) + " idle, " +
         std::to_string(u.idle_tx) + " idle in transaction";
}

// The sessions in reserved slots: "1 more session in a reserved slot (this check's own)".
std::string reserved_text(const SlotUse& u) {
  std::string whose = !u.own_in_reserved   ? "held by privileged roles"
                      : u.in_reserved == 1 ? "this check's own"
                                           : "this check's own among them";
  return std::to_string(u.in_reserved) +
         (u.in_reserved == 1 ? " more session in a reserved slot ("
                             : " more sessions in reserved slots (") +
         whose + ")";
}

// The ordinary slots in use and free; sessions in reserved slots are named apart, so the count
// never exceeds the ordinary limit.
std::string counts_text(const SlotUse& u) {
  std::string used =
      std::to_string(u.in_use) + " of " + std::to_string(u.usable) + " connection slots in use";
  std::string free = std::to_string(u.free_slots) + " free";
  if (u.in_reserved == 0) return used + " (" + states_text(u) + "), " + free;
  return used + ", " + free + ", and " + reserved_text(u) + "; " + std::to_string(u.sessions) +
         " sessions in all (" + states_text(u) + ")";
}

std::string relieve_text(const SlotUse& u, const Holders& holders) {
  return "Largest holders: " + (holders.text.empty() ? std::string("none") : holders.text) +
         ". Close or pool idle sessions (pgbouncer in transaction mode), set "
         "idle_in_transaction_session_timeout and idle_session_timeout, end stuck sessions with "
         "`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in "
         "transaction' AND state_change < now() - interval '1 hour';`, or raise max_connections "
         "(currently " +
         std::to_string(u.max_conn) + "; needs a restart).";
}

// Reserved slots still open for an administrator to get in and end sessions.
std::string reserved_left_text(const SlotUse& u) {
  long long total = u.su_reserved + u.reserved;
  long long left = std::max(0LL, total - u.in_reserved);
  if (total == 0) return "";
  if (left == 0)
    return " All " + std::to_string(total) +
           " reserved slots are taken as well: not even a superuser can connect until a session "
           "ends, so stop the client application that holds them.";
  return " A superuser can still connect to end sessions: " + std::to_string(left) + " of the " +
         std::to_string(total) + " reserved slots are free" +
         (u.own_in_reserved ? " besides the one this check holds while it runs." : ".");
}

// The database's own CONNECTION LIMIT; true when it decided the result.
bool report_database_limit(const SlotUse& u, const nlohmann::json& base, const std::string& fix,
                           long long min_free, sdk::Context& r) {
  if (u.db_limit < 0) return false;
  nlohmann::json details = base;
  long long db_free = std::max(0LL, u.db_limit - u.db_in_use);
  details["database_free"] = db_free;
  if (db_free > 0 && db_free >= min_free) return false;
  std::string s = "Database " + u.dbname + " allows " + std::to_string(u.db_limit) +
                  " connections and " + std::to_string(u.db_in_use) + " are in use";
  std::string fix_db = "Raise the database's limit with `ALTER DATABASE " + sql_ident(u.dbname) +
                       " CONNECTION LIMIT " + std::to_string(u.db_in_use + min_free + 5) +
                       ";` or close sessions on it. " + fix;
  if (db_free == 0)
    r.fail(s + ": a backup cannot connect", fix_db, details);
  else
    r.warn(s + ": " + std::to_string(db_free) + " left", fix_db, details);
  return true;
}

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  long long min_free = params.value("min_free", 5LL);
  double max_usage = params.value("max_usage_percent", 80.0);
  size_t max_items = params.value("max_items", 20);

  auto conn = connect_or_report(cp, r);
  if (!conn) return;
  SlotUse u = gather_slot_use(*conn);
  classify_slots(u);
  Holders holders = gather_holders(*conn, max_items);

  nlohmann::json details = slot_details(u, holders);
  emit_metrics(u, r);
  std::string counts = counts_text(u);
  std::string fix = relieve_text(u, holders);
  if (report_database_limit(u, details, fix, min_free, r)) return;
  if (u.free_slots == 0) {
    r.fail("No connection slot left for ordinary roles: " + counts,
           "A backup connecting now fails with 'too many clients'. " + fix + reserved_left_text(u),
           details);
  } else if (u.free_slots < min_free || u.usage > max_usage) {
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
              "and against the database's own CONNECTION LIMIT. Sessions beyond the ordinary slots "
              "(superusers' and pg_use_reserved_connections members' in reserved slots, this "
              "check's own among them when it connects as one to a full server) are counted "
              "apart, so the usage never exceeds 100%. Fails when no slot is left, warns "
              "under `min_free` or over `max_usage_percent`, and names the sessions holding the "
              "slots.\n\nMetrics: `pg_connections_in_use`, `pg_connections_available`, "
              "`pg_connections_max`, `pg_connections_reserved_in_use` (count), "
              "`pg_connection_usage` (percent).",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
