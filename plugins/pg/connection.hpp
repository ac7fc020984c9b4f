// A libpq connection for a check: parameters from the checklist, a non-blocking connect with
// an exact deadline and a diagnosed failure, and queries that can be cancelled.
#pragma once

#include <backup_doctor/sdk.hpp>

#include "connect_failure.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

typedef struct pg_conn PGconn;

namespace backup_doctor::pg {

struct ConnParams {
  // libpq keyword/value pairs, handed to PQconnectStartParams (never a conninfo string).
  std::vector<std::pair<std::string, std::string>> keywords;
  std::chrono::milliseconds timeout{10'000};
  // As given in the parameters (empty: libpq's default applies); the password is not here.
  std::string host, port, dbname, user, sslmode;
  bool has_password = false;

  std::string get(const std::string& keyword) const;
  // "user@host:port/dbname", naming libpq's defaults where nothing was given.
  std::string describe() const;
};

// Reads the connection parameters of schema::connection_properties() from `params`. libpq
// reads the files named in passfile, sslkey, sslcert, sslrootcert and sslcrl in this process,
// as root: one that anyone but root could change or replace (a FIFO that hangs the check, a
// link to another password file) is refused with a CheckError naming who could.
ConnParams parse_connection(const nlohmann::json& params);

struct QueryError : std::runtime_error {
  QueryError(const std::string& message, std::string state)
      : std::runtime_error(message), sqlstate(std::move(state)) {}
  std::string sqlstate;
};

using Row = std::vector<std::optional<std::string>>;

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  size_t column(const std::string& name) const;  // throws when absent
  // The value in `row`, column `name`; empty string for NULL.
  std::string text(size_t row, const std::string& name) const;
  bool is_null(size_t row, const std::string& name) const;
};

class Connection {
 public:
  explicit Connection(PGconn* conn, std::function<bool()> cancelled = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with text parameters ($1, $2, ...). Polls `cancelled` while waiting and
  // sends a cancel request when it says so, or when `timeout` (if non-zero) has passed.
  QueryResult query(const std::string& sql,
                    const std::vector<std::optional<std::string>>& params = {},
                    std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  // First column of the first row (nothing for NULL or no row).
  std::optional<std::string> value(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params = {});

  int server_version_num() const;
  std::string server_version() const;  // "15.18 (Debian ...)" as the server reports it
  std::string host() const;            // what libpq connected to
  std::string port() const;
  std::string dbname() const;
  std::string user() const;
  bool ssl_in_use() const;
  // The address libpq connected to ("" for a unix socket), and the effective sslmode.
  std::string host_address() const;
  std::string sslmode() const;
  bool used_password() const;
  PGconn* raw() { return conn_; }
  // Replaces what query() polls for cancellation: cleanup after a cancellation (dropping a
  // scratch database) must not be cancelled itself.
  void set_cancelled(std::function<bool()> cancelled) { cancelled_ = std::move(cancelled); }

 private:
  PGconn* conn_;
  std::function<bool()> cancelled_;
};

struct ConnectResult {
  std::unique_ptr<Connection> conn;
  ConnectFailure failure;  // when conn is null
  std::chrono::microseconds elapsed{0};
};

ConnectResult connect(const ConnParams& params, std::function<bool()> cancelled = {});

// Connects for a check; when that fails, reports the diagnosed failure through `r` with
// `status` (error by default: the check could not look) and returns null.
std::unique_ptr<Connection> connect_or_report(const ConnParams& params, sdk::Context& r,
                                              sdk::Status status = sdk::Status::error);

// When the password went to a server that was not verified (sslmode disable, allow, prefer or
// require over TCP to anything but loopback): one sentence saying so, else "".
std::string password_exposure(Connection& conn);
// The same, noted in the details of `r`'s report and logged.
void note_password_exposure(Connection& conn, sdk::Context& r);

// "'name'" with single quotes doubled, for SQL text (remediation statements).
std::string sql_literal(const std::string& value);
// "name" or "Name With Space" quoted as PostgreSQL's quote_ident does.
std::string sql_ident(const std::string& name);

}  // namespace backup_doctor::pg
