#include "connection.hpp"

#include <backup_doctor/support/safe_open.hpp>
#include "secrets.hpp"

#include <backup_doctor/duration.hpp>
#include <backup_doctor/sdk.hpp>

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace backup_doctor::pg {

namespace {

std::string param_text(const nlohmann::json& params, const char* key) {
  if (!params.contains(key) || params[key].is_null()) return {};
  const auto& v = params[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  throw sdk::CheckError(std::string("parameter '") + key + "' must be a string");
}

}  // namespace

std::string ConnParams::get(const std::string& keyword) const {
  for (const auto& [k, v] : keywords)
    if (k == keyword) return v;
  return {};
}

std::string ConnParams::describe() const {
  std::string h = host.empty() ? "(default host)" : host;
  std::string out = (user.empty() ? std::string("(default user)") : user) + "@" + h;
  if (!port.empty()) out += ":" + port;
  out += "/" + (dbname.empty() ? std::string("(default database)") : dbname);
  return out;
}

namespace {

// libpq opens these files as this process: none of them may be one that another user controls.
void refuse_untrusted_files(const ConnParams& c) {
  if (geteuid() != 0) return;
  for (const char* key : {"passfile", "sslkey", "sslcert", "sslrootcert", "sslcrl"}) {
    std::string path = c.get(key);
    if (path.empty() || path == "system") continue;  // sslrootcert=system: the OS's CA store
    struct stat st {};
    // A file that is not there yet is as safe as the directory it would be created in.
    std::string checked = path;
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT)
      checked = std::filesystem::path(path).parent_path().string();
    std::string why = support::untrusted_path_reason(checked.empty() ? "." : checked);
    if (why.empty()) continue;
    throw sdk::CheckError(
        std::string("`") + key + "` " + path + " is not safe to read as root: " + why,
        "libpq reads this file in backup-doctor's own process, as root, so whoever "
        "can change or replace it could make the check hang (a FIFO), read another "
        "password file, or choose the credentials or certificates it trusts. Keep it "
        "where only root can change it, e.g. `install -o root -m 0600 " +
            path + " /etc/backup-doctor/`, and point `" + key + "` there.");
  }
}

}  // namespace

ConnParams parse_connection(const nlohmann::json& params) {
  ConnParams c;
  for (const char* key : {"host", "port", "dbname", "user", "password", "sslmode", "sslrootcert",
                          "sslcert", "sslkey", "service", "passfile"}) {
    std::string v = param_text(params, key);
    if (!v.empty()) c.keywords.emplace_back(key, v);
  }
  std::string app = param_text(params, "application_name");
  c.keywords.emplace_back("application_name", app.empty() ? "backup-doctor" : app);
  std::string timeout = params.value("connect_timeout", std::string("10s"));
  auto d = parse_duration(timeout);
  if (!d || d->count() <= 0)
    throw sdk::CheckError("connect_timeout '" + timeout + "' is not a positive duration");
  c.timeout = *d;
  // Also handed to libpq (whole seconds, rounded up) for the tools that get our environment.
  c.keywords.emplace_back("connect_timeout",
                          std::to_string(std::max<long long>(
                              2, static_cast<long long>(std::ceil(d->count() / 1000.0)))));
  c.host = c.get("host");
  c.port = c.get("port");
  c.dbname = c.get("dbname");
  c.user = c.get("user");
  c.sslmode = c.get("sslmode");
  c.has_password = !c.get("password").empty();
  refuse_untrusted_files(c);
  return c;
}

size_t QueryResult::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  throw std::runtime_error("query result has no column '" + name + "'");
}
std::string QueryResult::text(size_t row, const std::string& name) const {
  const auto& v = rows.at(row).at(column(name));
  return v ? *v : std::string();
}
bool QueryResult::is_null(size_t row, const std::string& name) const {
  return !rows.at(row).at(column(name)).has_value();
}

Connection::Connection(PGconn* conn, std::function<bool()> cancelled)
    : conn_(conn), cancelled_(std::move(cancelled)) {}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

QueryResult Connection::query(const std::string& sql,
                              const std::vector<std::optional<std::string>>& params,
                              std::chrono::milliseconds timeout) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.empty() ? nullptr : values.data(), nullptr, nullptr, 0))
    throw QueryError(PQerrorMessage(conn_), "");

  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool cancel_sent = false;
  while (PQisBusy(conn_)) {
    bool expired = timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline;
    if (!cancel_sent && (expired || (cancelled_ && cancelled_()))) {
      if (PGcancel* c = PQgetCancel(conn_)) {
        char err[256];
        PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
      }
      cancel_sent = true;
    }
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    poll(&pfd, 1, 100);
    if (!PQconsumeInput(conn_)) throw QueryError(PQerrorMessage(conn_), "");
  }

  QueryResult out;
  std::string error, state;
  while (PGresult* res = PQgetResult(conn_)) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && error.empty()) {
      out = QueryResult{};
      int nf = PQnfields(res), nt = PQntuples(res);
      for (int f = 0; f < nf; ++f) out.columns.emplace_back(PQfname(res, f));
      for (int t = 0; t < nt; ++t) {
        Row row;
        for (int f = 0; f < nf; ++f)
          row.push_back(PQgetisnull(res, t, f) ? std::nullopt
                                               : std::optional<std::string>(PQgetvalue(res, t, f)));
        out.rows.push_back(std::move(row));
      }
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && error.empty()) {
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      error = primary ? primary : PQresultErrorMessage(res);
      state = code ? code : "";
    }
    PQclear(res);
  }
  if (!error.empty()) {
    if (cancel_sent && state == "57014")
      error = timeout.count() > 0 ? "query timed out after " + format_duration(timeout)
                                  : "query cancelled";
    throw QueryError(error, state);
  }
  return out;
}

std::optional<std::string> Connection::value(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  QueryResult r = query(sql, params);
  if (r.rows.empty() || r.rows[0].empty()) return std::nullopt;
  return r.rows[0][0];
}

int Connection::server_version_num() const {
  return PQserverVersion(conn_);
}
std::string Connection::server_version() const {
  const char* v = PQparameterStatus(conn_, "server_version");
  return v ? v : "";
}
std::string Connection::host() const {
  return PQhost(conn_) ? PQhost(conn_) : "";
}
std::string Connection::port() const {
  return PQport(conn_) ? PQport(conn_) : "";
}
std::string Connection::dbname() const {
  return PQdb(conn_) ? PQdb(conn_) : "";
}
std::string Connection::user() const {
  return PQuser(conn_) ? PQuser(conn_) : "";
}
bool Connection::ssl_in_use() const {
  return PQsslInUse(conn_) != 0;
}
std::string Connection::host_address() const {
  const char* a = PQhostaddr(conn_);
  return a ? a : "";
}
std::string Connection::sslmode() const {
  std::string mode = "prefer";
  if (PQconninfoOption* opts = PQconninfo(conn_)) {
    for (PQconninfoOption* o = opts; o->keyword; ++o)
      if (std::string_view(o->keyword) == "sslmode" && o->val && *o->val) mode = o->val;
    PQconninfoFree(opts);
  }
  return mode;
}
bool Connection::used_password() const {
  return PQconnectionUsedPassword(conn_) != 0;
}

namespace {

bool loopback(const std::string& address) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace

std::string password_exposure(Connection& conn) {
  std::string address = conn.host_address();
  if (!conn.used_password() || address.empty() || loopback(address)) return {};
  std::string mode = conn.sslmode();
  std::string to = conn.host() + " (" + address + ")";
  if (mode == "disable")
    return "sslmode disable: the password goes to " + to +
           " without encryption and without verifying the server";
  if (mode == "allow" || mode == "prefer")
    return "sslmode " + mode +
           " does not verify the server: a machine on the network path can "
           "pose as " +
           to + ", ask for the password in clear text and get it";
  if (mode == "require")
    return "sslmode require encrypts but does not verify the server: a machine on the network "
           "path can pose as " +
           to + " with a certificate of its own and get the password";
  return {};
}

void note_password_exposure(Connection& conn, sdk::Context& r) {
  std::string why = password_exposure(conn);
  if (why.empty()) return;
  r.note("password_exposure", why + "; use sslmode verify-full with sslrootcert");
  r.info("note: " + why);
}

ConnectResult connect(const ConnParams& params, std::function<bool()> cancelled) {
  ConnectResult result;
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + params.timeout;

  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params.keywords) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* conn = PQconnectStartParams(keys.data(), values.data(), 0);
  if (conn == nullptr) throw std::runtime_error("libpq could not allocate a connection");
  // Verbose errors carry the server's SQLSTATE, which tells the failures apart reliably.
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);

  auto fill_target = [&](ConnectFailure& f) {
    f.host = PQhost(conn) ? PQhost(conn) : params.host;
    f.port = PQport(conn) ? PQport(conn) : params.port;
    f.dbname = PQdb(conn) ? PQdb(conn) : params.dbname;
    f.user = PQuser(conn) ? PQuser(conn) : params.user;
    f.timeout_seconds = params.timeout.count() / 1000.0;
  };

  PostgresPollingStatusType st =
      PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    auto now = std::chrono::steady_clock::now();
    bool is_cancelled = cancelled && cancelled();
    if (now >= deadline || is_cancelled) {
      ConnectFailure f;
      fill_target(f);
      if (is_cancelled) {
        f.kind = FailureKind::cancelled;
        f.message = "cancelled while connecting";
      } else if (PQstatus(conn) == CONNECTION_STARTED) {
        f.kind = FailureKind::timeout_tcp;
        f.message = "no TCP connection within " + format_duration(params.timeout);
      } else {
        f.kind = FailureKind::timeout_server;
        f.message = "TCP connection made, but no answer from the server within " +
                    format_duration(params.timeout);
      }
      PQfinish(conn);
      result.failure = std::move(f);
      result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      return result;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfd{PQsocket(conn), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT),
               0};
    int wait_ms = static_cast<int>(std::clamp<long long>(left, 1, 100));
    int ready = pfd.fd >= 0 ? poll(&pfd, 1, wait_ms) : 0;
    if (ready != 0 || pfd.fd < 0) st = PQconnectPoll(conn);
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);

  if (st == PGRES_POLLING_FAILED || PQstatus(conn) != CONNECTION_OK) {
    ConnectFailure f = classify_failure(PQerrorMessage(conn), PQconnectionNeedsPassword(conn) != 0);
    fill_target(f);
    PQfinish(conn);
    result.failure = std::move(f);
    return result;
  }
  PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
  result.conn = std::make_unique<Connection>(conn, std::move(cancelled));
  return result;
}

std::string sql_literal(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string sql_ident(const std::string& name) {
  // PostgreSQL's reserved key words (those quote_ident() quotes).
  static const std::set<std::string> reserved = {"all",          "analyse",
                                                 "analyze",      "and",
                                                 "any",          "array",
                                                 "as",           "asc",
                                                 "asymmetric",   "both",
                                                 "case",         "cast",
                                                 "check",        "collate",
                                                 "column",       "constraint",
                                                 "create",       "current_catalog",
                                                 "current_date", "current_role",
                                                 "current_time", "current_timestamp",
                                                 "current_user", "default",
                                                 "deferrable",   "desc",
                                                 "distinct",     "do",
                                                 "else",         "end",
                                                 "except",       "false",
                                                 "fetch",        "for",
                                                 "foreign",      "from",
                                                 "grant",        "group",
                                                 "having",       "in",
                                                 "initially",    "intersect",
                                                 "into",         "lateral",
                                                 "leading",      "limit",
                                                 "localtime",    "localtimestamp",
                                                 "not",          "null",
                                                 "offset",       "on",
                                                 "only",         "or",
                                                 "order",        "placing",
                                                 "primary",      "references",
                                                 "returning",    "select",
                                                 "session_user", "some",
                                                 "symmetric",    "system_user",
                                                 "table",        "then",
                                                 "to",           "trailing",
                                                 "true",         "union",
                                                 "unique",       "user",
                                                 "using",        "variadic",
                                                 "when",         "where",
                                                 "window",       "with"};
  bool plain = !reserved.count(name) && !name.empty() &&
               (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      plain = false;
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace backup_doctor::pg
