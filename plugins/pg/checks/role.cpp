// pg.role: the backup role exists, may log in, and its password is not expired or about to.
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <backup_doctor/duration.hpp>

#include <cmath>

namespace backup_doctor::pg {

namespace {

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  std::string role = params.value("role", std::string());
  auto warn_before = parse_duration(params.value("warn_before", std::string("14d")));
  if (!warn_before) throw sdk::CheckError("warn_before is not a duration");

  ConnectResult c = connect(cp, [&r] { return r.cancelled(); });
  if (!c.conn) {
    // Not being able to log in as the role is exactly what this check is about.
    bool about_this_role = role.empty() || role == cp.user;
    auto k = c.failure.kind;
    bool login_problem = k == FailureKind::auth_failed || k == FailureKind::role_missing ||
                         k == FailureKind::login_not_permitted || k == FailureKind::no_password;
    report_connect_failure(
        r, c.failure, about_this_role && login_problem ? sdk::Status::fail : sdk::Status::error);
    return;
  }
  Connection& conn = *c.conn;
  note_password_exposure(conn, r);

  QueryResult q = conn.query(
      "SELECT r.rolname, quote_ident(r.rolname) AS ident, r.rolcanlogin, r.rolsuper, "
      "r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text AS valid_until, "
      "extract(epoch FROM r.rolvaliduntil)::float8 AS valid_until_epoch, "
      "extract(epoch FROM now())::float8 AS now_epoch, "
      "(SELECT count(*) FROM pg_stat_activity a WHERE a.usename = r.rolname) AS sessions, "
      "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS viewer_is_superuser "
      "FROM pg_roles r WHERE r.rolname = coalesce($1, current_user)",
      {role.empty() ? std::nullopt : std::optional<std::string>(role)});
  if (role.empty()) role = conn.user();
  std::string ident = sql_ident(role);
  if (q.rows.empty()) {
    r.fail("Role " + role + " does not exist",
           "Create the backup role: `CREATE ROLE " + ident +
               " LOGIN PASSWORD '<password>';`, then grant it what pg_dump needs (see "
               "pg.privileges).",
           {{"role", role}, {"exists", false}});
    return;
  }
  ident = q.text(0, "ident");
  bool can_login = q.text(0, "rolcanlogin") == "t";
  long long connlimit = std::stoll(q.text(0, "rolconnlimit"));
  long long sessions = std::stoll(q.text(0, "sessions"));
  nlohmann::json details = {
      {"role", role},
      {"exists", true},
      {"can_login", can_login},
      {"superuser", q.text(0, "rolsuper") == "t"},
      {"replication", q.text(0, "rolreplication") == "t"},
      {"bypass_rls", q.text(0, "rolbypassrls") == "t"},
      {"connection_limit", connlimit},
      {"sessions", sessions},
      {"valid_until", q.is_null(0, "valid_until") ? nlohmann::json(nullptr)
                                                  : nlohmann::json(q.text(0, "valid_until"))}};
  if (q.text(0, "viewer_is_superuser") == "t") {
    auto has_password = conn.value(
        "SELECT (rolpassword IS NOT NULL)::text FROM pg_authid WHERE rolname = $1", {role});
    if (has_password) details["password_set"] = *has_password == "true";
  }

  if (!can_login) {
    r.fail("Role " + role + " exists but may not log in (NOLOGIN)",
           "Allow it to log in: `ALTER ROLE " + ident + " LOGIN;`", details);
    return;
  }
  if (connlimit >= 0 && sessions >= connlimit) {
    r.fail("Role " + role + " has reached its connection limit (" + std::to_string(sessions) +
               " of " + std::to_string(connlimit) + " sessions)",
           "A backup logging in as " + role + " is refused now. Raise the limit (`ALTER ROLE " +
               ident + " CONNECTION LIMIT " + std::to_string(connlimit + 2) +
               ";`) or end the sessions holding it (pg_stat_activity WHERE usename = " +
               sql_literal(role) + ").",
           details);
    return;
  }

  if (q.is_null(0, "valid_until") || q.text(0, "valid_until") == "infinity") {
    r.ok("Role " + role + " can log in; its password never expires", details);
    return;
  }
  double until = std::stod(q.text(0, "valid_until_epoch"));
  double now = std::stod(q.text(0, "now_epoch"));
  double left_s = until - now;
  double days = left_s / 86400.0;
  details["days_until_expiry"] = std::round(days * 10) / 10;
  r.metric("pg_role_password_expiry_timestamp", until, "seconds", {{"role", role}});
  r.metric("pg_role_password_days_until_expiry", days, "", {{"role", role}});

  std::string renew = "Set a new password and expiry as a superuser, e.g. `ALTER ROLE " + ident +
                      " PASSWORD '<new>' VALID UNTIL '<date a year ahead>';` (or VALID UNTIL "
                      "'infinity'), then update the secret the backup job reads.";
  auto span = std::chrono::milliseconds(static_cast<long long>(std::fabs(left_s) * 1000));
  if (left_s <= 0) {
    r.fail("The password of role " + role + " expired " + format_duration(span) + " ago (" +
               q.text(0, "valid_until") + ")",
           "Logins as " + role + " fail with 'password authentication failed'. " + renew, details);
  } else if (left_s * 1000 < static_cast<double>(warn_before->count())) {
    r.warn("The password of role " + role + " expires in " + format_duration(span) + " (" +
               q.text(0, "valid_until") + ")",
           "Renew it before then or backups start failing to log in. " + renew, details);
  } else {
    r.ok("Role " + role + " can log in; its password expires in " + format_duration(span) + " (" +
             q.text(0, "valid_until") + ")",
         details);
  }
}

}  // namespace

sdk::CheckType role_check() {
  using namespace schema;
  json props = connection_properties();
  props["role"] = string_prop(
      "The role to check. Default: the connecting user. Any role can read another's expiry "
      "from pg_roles, so connecting as a monitoring role also diagnoses a backup role whose "
      "password already expired.");
  props["warn_before"] = sdk::duration_schema(
      "Warn when the password expires within this long. Default \"14d\".", "14d");
  return {.type = "pg.role",
          .summary = "The backup role exists, may log in, and its password is not expiring",
          .doc =
              "Reads the role from pg_roles: it must exist, have LOGIN, not be at its CONNECTION "
              "LIMIT, and its password must not be past `rolvaliduntil` (fail) or within "
              "`warn_before` of it (warn). When the check connects as the role itself and the "
              "login is refused (wrong or expired password, NOLOGIN, no such role), that is "
              "reported as a failure of this check.\n\nMetrics: "
              "`pg_role_password_expiry_timestamp` (seconds) and "
              "`pg_role_password_days_until_expiry`, labelled with the role.",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
