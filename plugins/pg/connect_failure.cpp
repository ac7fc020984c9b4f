#include "connect_failure.hpp"

#include "connection.hpp"
#include "secrets.hpp"

#include <optional>
#include <regex>
#include <sstream>

namespace backup_doctor::pg {

std::string_view kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::refused:
      return "connection_refused";
    case FailureKind::socket_missing:
      return "socket_missing";
    case FailureKind::timeout_tcp:
      return "timeout_tcp";
    case FailureKind::timeout_server:
      return "timeout_server";
    case FailureKind::unreachable:
      return "host_unreachable";
    case FailureKind::dns:
      return "name_not_resolved";
    case FailureKind::auth_failed:
      return "authentication_failed";
    case FailureKind::no_password:
      return "no_password";
    case FailureKind::hba_rejected:
      return "hba_rejected";
    case FailureKind::role_missing:
      return "role_missing";
    case FailureKind::login_not_permitted:
      return "login_not_permitted";
    case FailureKind::database_missing:
      return "database_missing";
    case FailureKind::no_connect_privilege:
      return "no_connect_privilege";
    case FailureKind::too_many_connections:
      return "too_many_connections";
    case FailureKind::starting_up:
      return "server_not_ready";
    case FailureKind::ssl_required:
      return "ssl_required";
    case FailureKind::ssl_refused:
      return "ssl_refused";
    case FailureKind::ssl_error:
      return "ssl_error";
    case FailureKind::cancelled:
      return "cancelled";
    case FailureKind::other:
      return "other";
  }
  return "other";
}

namespace {

bool has(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

}  // namespace

ConnectFailure classify_failure(std::string_view libpq_message, bool needs_password) {
  ConnectFailure f;
  // Drop the LOCATION lines verbose mode adds; keep everything else as libpq wrote it.
  std::istringstream in{std::string(libpq_message)};
  std::string line, kept;
  static const std::regex server_error(R"((FATAL|ERROR|PANIC):\s+([0-9A-Z]{5}):\s+(.*))");
  std::string server_text;
  while (std::getline(in, line)) {
    if (line.rfind("LOCATION:", 0) == 0) continue;
    std::smatch m;
    if (std::regex_search(line, m, server_error)) {
      f.sqlstate = m[2];
      server_text = m[3];
      // Present the error as the server worded it, without the code in the middle.
      line = line.substr(0, m.position(0)) + std::string(m[1]) + ":  " + server_text;
    }
    if (!kept.empty()) kept += "\n";
    kept += line;
  }
  while (!kept.empty() && (kept.back() == '\n' || kept.back() == ' ')) kept.pop_back();
  f.message = kept;

  const std::string& m = f.message;
  const std::string& s = f.sqlstate;
  if (s == "28P01") {
    f.kind = FailureKind::auth_failed;
  } else if (s == "28000") {
    if (has(server_text, "pg_hba.conf") &&
        (has(server_text, "no encryption") || has(server_text, "SSL off")))
      f.kind = FailureKind::ssl_required;
    else if (has(server_text, "pg_hba.conf"))
      f.kind = FailureKind::hba_rejected;
    else if (has(server_text, "does not exist"))
      f.kind = FailureKind::role_missing;
    else if (has(server_text, "not permitted to log in"))
      f.kind = FailureKind::login_not_permitted;
    else
      f.kind = FailureKind::auth_failed;  // peer/ident/cert authentication failures
  } else if (s == "3D000") {
    f.kind = FailureKind::database_missing;
  } else if (s == "42501") {
    f.kind = FailureKind::no_connect_privilege;
  } else if (s == "53300") {
    f.kind = FailureKind::too_many_connections;
  } else if (s == "57P03") {
    f.kind = FailureKind::starting_up;
  } else if (!s.empty()) {
    f.kind = FailureKind::other;
  } else if (has(m, "could not translate host name")) {
    f.kind = FailureKind::dns;
  } else if (has(m, "Connection refused")) {
    f.kind = FailureKind::refused;
  } else if (has(m, "No such file or directory") && has(m, "socket")) {
    f.kind = FailureKind::socket_missing;
  } else if (has(m, "No route to host") || has(m, "Network is unreachable")) {
    f.kind = FailureKind::unreachable;
  } else if (has(m, "Connection timed out") || has(m, "timeout expired")) {
    f.kind = FailureKind::timeout_tcp;
  } else if (has(m, "server does not support SSL") || has(m, "SSL was required")) {
    f.kind = FailureKind::ssl_refused;
  } else if (has(m, "SSL") || has(m, "certificate") || has(m, "TLS")) {
    f.kind = FailureKind::ssl_error;
  } else if (needs_password || has(m, "no password supplied")) {
    f.kind = FailureKind::no_password;
  } else {
    f.kind = FailureKind::other;
  }
  return f;
}

namespace {

// Names for the parts of a failed connection that the diagnoses quote.
struct Subject {
  std::string host, where, user, db, timeout;
  const std::string& msg;
};

Subject subject_of(const ConnectFailure& f) {
  std::string host = f.host.empty() ? "the default host" : f.host;
  bool unix_socket = !f.host.empty() && f.host[0] == '/';
  std::string where =
      unix_socket ? "socket directory " + f.host + " (port " + f.port + ")" : host + ":" + f.port;
  std::ostringstream t;
  t.precision(3);
  t << f.timeout_seconds;
  return {host,
          where,
          f.user.empty() ? "the connecting role" : f.user,
          f.dbname.empty() ? "the database" : f.dbname,
          t.str() + "s",
          f.message};
}

// The server cannot be reached: nothing listens, no route, no name, no answer.
std::optional<Diagnosis> explain_network(const ConnectFailure& f, const Subject& s) {
  switch (f.kind) {
    case FailureKind::refused:
      return Diagnosis{
          "PostgreSQL is not accepting connections on " + s.where + " (connection refused)",
          "Nothing listens on " + s.where +
              ". Start the server (for example `systemctl start postgresql` or "
              "`pg_ctlcluster <version> <cluster> start`), then compare `port` and "
              "`listen_addresses` in postgresql.conf with the host and port the backup uses; "
              "`pg_isready -h " +
              s.host + " -p " + f.port + "` confirms the fix."};
    case FailureKind::socket_missing:
      return Diagnosis{
          "No PostgreSQL socket in " + s.where + ": the server is down or uses another directory",
          "Start the server, or point `host` at the directory named by "
          "`unix_socket_directories` in postgresql.conf (the socket file is "
          ".s.PGSQL." +
              f.port + ")."};
    case FailureKind::timeout_tcp:
      return Diagnosis{
          "No TCP connection to " + s.where + " within " + s.timeout,
          "Packets to " + s.where +
              " go unanswered: a firewall or security group drops them, or the host is "
              "down. From this machine, `nc -zv " +
              s.host + " " + f.port +
              "` shows whether the port is reachable; open the port for this client or fix "
              "the route."};
    case FailureKind::timeout_server:
      return Diagnosis{
          "Connected to " + s.where + " but the server did not answer within " + s.timeout,
          "The TCP port answers but no PostgreSQL handshake follows: the server is hung or "
          "overloaded, or the port belongs to something else (a proxy or load balancer with "
          "no healthy backend). Check the server log and `pg_isready -h " +
              s.host + " -p " + f.port + "`, and what actually listens on that port."};
    case FailureKind::unreachable:
      return Diagnosis{
          "Host " + s.host + " is unreachable from here (" + s.msg + ")",
          "There is no network route to " + s.host +
              ": check the address, this machine's routes and VPN, and whether the database "
              "host is up."};
    case FailureKind::dns:
      return Diagnosis{"Host name '" + s.host + "' does not resolve",
                       "Fix the `host` parameter or the name service: `getent hosts " + s.host +
                           "` must return an address on this machine (DNS, /etc/hosts)."};
    default:
      return std::nullopt;
  }
}

// The server answered but would not let this role in.
std::optional<Diagnosis> explain_login(const ConnectFailure& f, const Subject& s) {
  switch (f.kind) {
    case FailureKind::auth_failed:
      return Diagnosis{
          "Authentication failed for role " + s.user + " on " + s.where + " (SQLSTATE " +
              (f.sqlstate.empty() ? std::string("none") : f.sqlstate) + ")",
          "The server rejected the credentials of " + s.user +
              ". Either the password in the secret is wrong or it has expired: as a "
              "superuser run `SELECT rolvaliduntil FROM pg_roles WHERE rolname = " +
              sql_literal(s.user) + ";`. To fix, set a new password with `ALTER ROLE " +
              sql_ident(s.user) +
              " PASSWORD '<new>' VALID UNTIL 'infinity';` and update the secret the backup "
              "reads; the server log names the exact reason."};
    case FailureKind::no_password:
      return Diagnosis{
          "The server asks " + s.user + " for a password and none was supplied",
          "Give the check a `password` (as a secret), or add a line `" + s.host + ":" + f.port +
              ":" + s.db + ":" + s.user +
              ":<password>` to the password file (~/.pgpass or PGPASSFILE, mode 0600) of the "
              "user the backup runs as."};
    case FailureKind::hba_rejected:
      return Diagnosis{
          "pg_hba.conf on " + s.where + " does not let " + s.user + " connect to " + s.db,
          "Add a line such as `host " + s.db + " " + s.user +
              " <this client's address>/32 scram-sha-256` to pg_hba.conf above any "
              "broader reject line, then reload with `SELECT pg_reload_conf();`. Server "
              "said: " +
              s.msg};
    case FailureKind::role_missing:
      return Diagnosis{
          "Role " + s.user + " does not exist on " + s.where,
          "Create it (`CREATE ROLE " + sql_ident(s.user) +
              " LOGIN PASSWORD '<password>';`) and grant what backups need, or fix the `user` "
              "parameter."};
    case FailureKind::login_not_permitted:
      return Diagnosis{"Role " + s.user + " exists but may not log in (NOLOGIN)",
                       "Allow it to log in: `ALTER ROLE " + sql_ident(s.user) + " LOGIN;`"};
    default:
      return std::nullopt;
  }
}

// The role got in, but not into this database or not now: no such database, no CONNECT, no
// free connection slot.
std::optional<Diagnosis> explain_access(const ConnectFailure& f, const Subject& s) {
  switch (f.kind) {
    case FailureKind::database_missing:
      return Diagnosis{
          "Database " + s.db + " does not exist on " + s.where,
          "Check the `dbname` parameter against `SELECT datname FROM pg_database;` on the "
          "server; if the database is really gone, this is a restore situation, not a "
          "backup one."};
    case FailureKind::no_connect_privilege:
      return Diagnosis{"Role " + s.user + " lacks CONNECT on database " + s.db,
                       "Run as the database owner or a superuser: `GRANT CONNECT ON DATABASE " +
                           sql_ident(s.db) + " TO " + sql_ident(s.user) + ";`"};
    case FailureKind::too_many_connections: {
      if (has(s.msg, "for role"))
        return Diagnosis{
            "Role " + s.user + " has reached its connection limit",
            "Raise or remove the per-role limit (`ALTER ROLE " + sql_ident(s.user) +
                " CONNECTION LIMIT -1;`) or find the sessions holding it: `SELECT pid, "
                "application_name, state, backend_start FROM pg_stat_activity WHERE usename "
                "= " +
                sql_literal(s.user) + ";`"};
      if (has(s.msg, "for database"))
        return Diagnosis{"Database " + s.db + " has reached its connection limit",
                         "Raise the limit with `ALTER DATABASE " + sql_ident(s.db) +
                             " CONNECTION LIMIT <n>;` or close idle sessions on it."};
      return Diagnosis{
          "PostgreSQL on " + s.where + " has no free connection slot (too many clients)",
          "All max_connections slots available to ordinary roles are taken. Find idle "
          "sessions with `SELECT usename, application_name, state, count(*) FROM "
          "pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;`, close or pool them "
          "(pgbouncer), or raise max_connections (restart required)."};
    }
    default:
      return std::nullopt;
  }
}

// The server is not open for connections, or SSL stands in the way; or the check was cancelled.
std::optional<Diagnosis> explain_server(const ConnectFailure& f, const Subject& s) {
  switch (f.kind) {
    case FailureKind::starting_up:
      return Diagnosis{
          "PostgreSQL on " + s.where + " is not ready (" + s.msg + ")",
          "The server is starting, shutting down or replaying WAL without hot_standby. Wait "
          "for it to finish, or schedule the backup against a server that is open for "
          "connections."};
    case FailureKind::ssl_required:
      return Diagnosis{
          "The server only accepts SSL connections for " + s.user + " but sslmode disabled SSL",
          "Connect with `sslmode` set to require (better: verify-full with `sslrootcert` "
          "naming the CA that signed the server certificate)."};
    case FailureKind::ssl_refused:
      return Diagnosis{
          "sslmode " + std::string("requires SSL but the server at ") + s.where +
              " does not offer it",
          "Enable SSL on the server (ssl = on with ssl_cert_file and ssl_key_file, then "
          "reload), or, only on a network you trust, lower `sslmode` to prefer."};
    case FailureKind::ssl_error:
      return Diagnosis{
          "The SSL handshake with " + s.where + " failed",
          "Check the certificates: `sslrootcert` must name the CA that signed the server's "
          "certificate, and with verify-full the host name must match the certificate. "
          "libpq said: " +
              s.msg};
    case FailureKind::cancelled:
      return Diagnosis{"Cancelled while connecting to " + s.where, "Rerun the check."};
    default:
      return std::nullopt;
  }
}

}  // namespace

Diagnosis explain(const ConnectFailure& f) {
  Subject s = subject_of(f);
  for (auto explain_kind : {explain_network, explain_login, explain_access, explain_server})
    if (auto d = explain_kind(f, s)) return *d;
  return {"Could not connect to " + s.where + " as " + s.user,
          "libpq said: " + s.msg + (f.sqlstate.empty() ? "" : " (SQLSTATE " + f.sqlstate + ")") +
              ". Compare with the server log around the same time."};
}

std::unique_ptr<Connection> connect_or_report(const ConnParams& params, sdk::Context& r,
                                              sdk::Status status) {
  ConnectResult c = connect(params, [&r] { return r.cancelled(); });
  if (!c.conn) report_connect_failure(r, c.failure, status);
  if (c.conn) note_password_exposure(*c.conn, r);
  return std::move(c.conn);
}

void report_connect_failure(sdk::Context& r, const ConnectFailure& f, sdk::Status status,
                            const std::string& what) {
  Diagnosis d = explain(f);
  if (!what.empty()) d.summary = what + ": " + d.summary;
  nlohmann::json details = {{"failure_kind", kind_name(f.kind)},
                            {"message", f.message},
                            {"host", f.host},
                            {"port", f.port},
                            {"dbname", f.dbname},
                            {"user", f.user}};
  if (!f.sqlstate.empty()) details["sqlstate"] = f.sqlstate;
  r.report(status, d.summary, d.remediation, details);
}

}  // namespace backup_doctor::pg
