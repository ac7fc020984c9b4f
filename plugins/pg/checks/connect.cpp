// pg.connect: can the backup connect at all, and if not, why exactly.
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <backup_doctor/duration.hpp>

#include <cstdio>

namespace backup_doctor::pg {

namespace {

std::string ms_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1000.0);
  return buf;
}

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  std::optional<std::chrono::milliseconds> warn_latency;
  if (params.contains("warn_latency")) {
    warn_latency = parse_duration(params["warn_latency"].get<std::string>());
    if (!warn_latency) throw sdk::CheckError("warn_latency is not a duration");
  }

  ConnectResult c = connect(cp, [&] { return r.cancelled(); });
  double connect_s = c.elapsed.count() / 1e6;
  if (!c.conn) {
    report_connect_failure(r, c.failure, sdk::Status::fail);
    return;
  }
  r.metric("pg_connect_latency", connect_s, "seconds");

  auto t0 = std::chrono::steady_clock::now();
  c.conn->query("SELECT 1");
  double query_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.metric("pg_query_latency", query_s, "seconds");

  QueryResult role = c.conn->query(
      "SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, "
      "r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text AS valid_until, "
      "(SELECT coalesce(json_agg(b.rolname ORDER BY b.rolname), '[]') FROM pg_auth_members m "
      " JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid)::text AS member_of, "
      "pg_is_in_recovery()::text AS in_recovery "
      "FROM pg_roles r WHERE r.rolname = current_user");
  nlohmann::json attrs = nlohmann::json::object();
  bool in_recovery = false;
  if (!role.rows.empty()) {
    for (const char* flag :
         {"rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls"})
      attrs[std::string(flag).substr(3)] = role.text(0, flag) == "t";
    attrs["connection_limit"] = std::stoi(role.text(0, "rolconnlimit"));
    attrs["valid_until"] = role.is_null(0, "valid_until")
                               ? nlohmann::json(nullptr)
                               : nlohmann::json(role.text(0, "valid_until"));
    attrs["member_of"] = nlohmann::json::parse(role.text(0, "member_of"));
    in_recovery = role.text(0, "in_recovery") == "true";
  }

  bool ssl = c.conn->ssl_in_use();
  nlohmann::json details = {{"host", c.conn->host()},
                            {"port", c.conn->port()},
                            {"dbname", c.conn->dbname()},
                            {"user", c.conn->user()},
                            {"server_version", c.conn->server_version()},
                            {"server_version_num", c.conn->server_version_num()},
                            {"ssl", ssl},
                            {"in_recovery", in_recovery},
                            {"connect_seconds", connect_s},
                            {"query_seconds", query_s},
                            {"role", attrs}};
  std::string where = c.conn->host() + ":" + c.conn->port() + "/" + c.conn->dbname();
  std::string summary = "Connected to " + where + " as " + c.conn->user() + " in " +
                        ms_text(connect_s) + " (PostgreSQL " + c.conn->server_version() +
                        (ssl ? ", SSL" : "") + (in_recovery ? ", standby" : "") + ")";
  if (std::string exposed = password_exposure(*c.conn); !exposed.empty()) {
    details["password_exposure"] = exposed;
    r.warn(summary + ", but " + exposed,
           "Set `sslmode` to verify-full and `sslrootcert` to the CA certificate that signed the "
           "server's certificate (PostgreSQL 16 clients also accept sslrootcert=system for a "
           "public CA), so that libpq refuses a server that cannot prove it is " +
               c.conn->host() +
               ". With SCRAM authentication, channel_binding=require adds the same protection. "
               "If the server has no certificate yet, give it one (ssl = on, ssl_cert_file) "
               "first.",
           details);
    return;
  }
  if (warn_latency && connect_s * 1000.0 > static_cast<double>(warn_latency->count())) {
    r.warn(summary + ", slower than " + format_duration(*warn_latency),
           "Connecting took " + ms_text(connect_s) +
               ". Look at name resolution (a slow DNS answer is the usual cause), the network "
               "path to " +
               c.conn->host() + ", authentication (LDAP/RADIUS round trips) and server load.",
           details);
    return;
  }
  r.ok(summary, details);
}

}  // namespace

sdk::CheckType connect_check() {
  using namespace schema;
  json props = connection_properties();
  props["warn_latency"] = sdk::duration_schema(
      "Warn when connecting takes longer than this (for example \"500ms\"). Default: no "
      "latency warning.");
  return {.type = "pg.connect",
          .summary = "Connect with libpq and tell exactly why it fails",
          .doc =
              "Connects the way the backup does (host, port, dbname, user, password as a secret, "
              "sslmode, connect_timeout, service, password file) and, when that fails, tells the "
              "causes apart: server down (connection refused or socket missing), no TCP answer "
              "(firewall, host down), TCP connected but no PostgreSQL answer, name not resolved, "
              "authentication failed (SQLSTATE 28P01/28000), missing database (3D000), no CONNECT "
              "privilege, connection limits (53300) and SSL required or refused. On success it "
              "reports the server version, the connection latency and the role's attributes, and "
              "warns when a password went over TCP (not loopback) with an sslmode that does not "
              "verify the server (disable, allow, prefer, require).\n\n"
              "Metrics: `pg_connect_latency` and `pg_query_latency` (seconds).",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
