#include "connect_failure.hpp"

#include "connection.hpp"
#include "secrets.hpp"

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

Diagnosis explain(const ConnectFailure& f) {
  std::string host = f.host.empty() ? "the default host" : f.host;
  bool unix_socket = !f.host.empty() && f.host[0] == '/';
  std::string where =
      unix_socket ? "socket directory " + f.host + " (port " + f.port + ")" : host + ":" + f.port;
  std::string user = f.user.empty() ? "the connecting role" : f.user;
  std::string db = f.dbname.empty() ? "the database" : f.dbname;
  std::ostringstream t;
  t.precision(3);
  t << f.timeout_seconds;
  std::string timeout = t.str() + "s";
  const std::string& msg = f.message;

  switch (f.kind) {
    case FailureKind::refused:
      return {"PostgreSQL is not accepting connections on " + where + " (connection refused)",
              "Nothing listens on " + where +
                  ". Start the server (for example `systemctl start postgresql` or "
                  "`pg_ctlcluster <version> <cluster> start`), then compare `port` and "
                  "`listen_addresses` in postgresql.conf with the host and port the backup uses; "
                  "`pg_isready -h " +
                  host + " -p " + f.port + "` confirms the fix."};
    case FailureKind::socket_missing:
      return {"No PostgreSQL socket in " + where + ": the server is down or uses another directory",
              "Start the server, or point `host` at the directory named by "
              "`unix_socket_directories` in postgresql.conf (the socket file is "
              ".s.PGSQL." +
                  f.port + ")."};
    case FailureKind::timeout_tcp:
      return {"No TCP connection to " + where + " within " + timeout,
              "Packets to " + where +
                  " go unanswered: a firewall or security group drops them, or the host is "
                  "down. From this machine, `nc -zv " +
                  host + " " + f.port +
                  "` shows whether the port is reachable; open the port for this client or fix "
                  "the route."};
    case FailureKind::timeout_server:
      return {"Connected to " + where + " but the server did not answer within " + timeout,
              "The TCP port answers but no PostgreSQL handshake follows: the server is hung or "
              "overloaded, or the port belongs to something else (a proxy or load balancer with "
              "no healthy backend). Check the server log and `pg_isready -h " +
                  host + " -p " + f.port + "`, and what actually listens on that port."};
    case FailureKind::unreachable:
      return {"Host " + host + " is unreachable from here (" + msg + ")",
              "There is no network route to " + host +
                  ": check the address, this machine's routes and VPN, and whether the database "
                  "host is up."};
    case FailureKind::dns:
      return {"Host name '" + host + "' does not resolve",
              "Fix the `host` parameter or the name service: `getent hosts " + host +
                  "` must return an address on this machine (DNS, /etc/hosts)."};
    case FailureKind::auth_failed:
      return {"Authentication failed for role " + user + " on " + where + " (SQLSTATE " +
                  (f.sqlstate.empty() ? std::string("none") : f.sqlstate) + ")",
              "The server rejected the credentials of " + user +
                  ". Either the password in the secret is wrong or it has expired: as a "
                  "superuser run `SELECT rolvaliduntil FROM pg_roles WHERE rolname = " +
                  sql_literal(user) + ";`. To fix, set a new password with `ALTER ROLE " +
                  sql_ident(user) +
                  " PASSWORD '<new>' VALID UNTIL 'infinity';` and update the secret the backup "
                  "reads; the server log names the exact reason."};
    case FailureKind::no_password:
      return {"The server asks " + user + " for a password and none was supplied",
              "Give the check a `password` (as a secret), or add a line `" + host + ":" + f.port +
                  ":" + db + ":" + user +
                  ":<password>` to the password file (~/.pgpass or PGPASSFILE, mode 0600) of the "
                  "user the backup runs as."};
    case FailureKind::hba_rejected:
      return {"pg_hba.conf on " + where + " does not let " + user + " connect to " + db,
              "Add a line such as `host " + db + " " + user +
                  " <this client's address>/32 scram-sha-256` to pg_hba.conf above any "
                  "broader reject line, then reload with `SELECT pg_reload_conf();`. Server "
                  "said: " +
                  msg};
    case FailureKind::role_missing:
      return {"Role " + user + " does not exist on " + where,
              "Create it (`CREATE ROLE " + sql_ident(user) +
                  " LOGIN PASSWORD '<password>';`) and grant what backups need, or fix the `user` "
                  "parameter."};
    case FailureKind::login_not_permitted:
      return {"Role " + user + " exists but may not log in (NOLOGIN)",
              "Allow it to log in: `ALTER ROLE " + sql_ident(user) + " LOGIN;`"};
    case FailureKind::database_missing:
      return {"Database " + db + " does not exist on " + where,
              "Check the `dbname` parameter against `SELECT datname FROM pg_database;` on the "
              "server; if the database is really gone, this is a restore situation, not a "
              "backup one."};
    case FailureKind::no_connect_privilege:
      return {"Role " + user + " lacks CONNECT on database " + db,
              "Run as the database owner or a superuser: `GRANT CONNECT ON DATABASE " +
                  sql_ident(db) + " TO " + sql_ident(user) + ";`"};
    case FailureKind::too_many_connections: {
      if (has(msg, "for role"))
        return {"Role " + user + " has reached its connection limit",
                "Raise or remove the per-role limit (`ALTER ROLE " + sql_ident(user) +
                    " CONNECTION LIMIT -1;`) or find the sessions holding it: `SELECT pid, "
                    "application_name, state, backend_start FROM pg_stat_activity WHERE usename "
                    "= " +
                    sql_literal(user) + ";`"};
      if (has(msg, "for database"))
        return {"Database " + db + " has reached its connection limit",
                "Raise the limit with `ALTER DATABASE " + sql_ident(db) +
                    " CONNECTION LIMIT <n>;` or close idle sessions on it."};
      return {"PostgreSQL on " + where + " has no free connection slot (too many clients)",
              "All max_connections slots available to ordinary roles are taken. Find idle "
              "sessions with `SELECT usename, application_name, state, count(*) FROM "
              "pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;`, close or pool them "
              "(pgbouncer), or raise max_connections (restart required)."};
    }
    case FailureKind::starting_up:
      return {"PostgreSQL on " + where + " is not ready (" + msg + ")",
              "The server is starting, shutting down or replaying WAL without hot_standby. Wait "
              "for it to finish, or schedule the backup against a server that is open for "
              "connections."};
    case FailureKind::ssl_required:
      return {"The server only accepts SSL connections for " + user + " but sslmode disabled SSL",
              "Connect with `sslmode` set to require (better: verify-full with `sslrootcert` "
              "naming the CA that signed the server certificate)."};
    case FailureKind::ssl_refused:
      return {"sslmode " + std::string("requires SSL but the server at ") + where +
                  " does not offer it",
              "Enable SSL on the server (ssl = on with ssl_cert_file and ssl_key_file, then "
              "reload), or, only on a network you trust, lower `sslmode` to prefer."};
    case FailureKind::ssl_error:
      return {"The SSL handshake with " + where + " failed",
              "Check the certificates: `sslrootcert` must name the CA that signed the server's "
              "certificate, and with verify-full the host name must match the certificate. "
              "libpq said: " +
                  msg};
    case FailureKind::cancelled:
      return {"Cancelled while connecting to " + where, "Rerun the check."};
    case FailureKind::other:
      break;
  }
  return {"Could not connect to " + where + " as " + user,
          "libpq said: " + msg + (f.sqlstate.empty() ? "" : " (SQLSTATE " + f.sqlstate + ")") +
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
