// Why a connection failed, told apart the way an operator needs it: server down, network,
// name resolution, authentication, missing database, connection limits, SSL.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>
#include <string_view>

namespace backup_doctor::pg {

struct ConnParams;

enum class FailureKind {
  refused,               // nothing listens on host:port (TCP RST)
  socket_missing,        // unix socket file absent: server down or another socket directory
  timeout_tcp,           // TCP handshake did not complete in time (firewall drop, host down)
  timeout_server,        // TCP connected, but no PostgreSQL answer in time
  unreachable,           // no route to host / network unreachable
  dns,                   // host name does not resolve
  auth_failed,           // 28P01: wrong or expired password
  no_password,           // the server wants a password and none was supplied
  hba_rejected,          // 28000: pg_hba.conf has no line for this host/user/db (or rejects it)
  role_missing,          // 28000: role does not exist
  login_not_permitted,   // 28000: role has NOLOGIN
  database_missing,      // 3D000
  no_connect_privilege,  // 42501: CONNECT on the database not granted
  too_many_connections,  // 53300: server, role or database limit reached
  starting_up,           // 57P03: server starting, shutting down or in recovery
  ssl_required,          // the server only accepts SSL for this client, sslmode disabled it
  ssl_refused,           // sslmode requires SSL, the server does not offer it
  ssl_error,             // certificate verification or TLS handshake failure
  cancelled,             // the check was cancelled while connecting
  other,
};

std::string_view kind_name(FailureKind kind);

struct ConnectFailure {
  FailureKind kind = FailureKind::other;
  std::string sqlstate;  // from the server's error, when there was one
  std::string message;   // libpq's message (LOCATION lines removed), not yet scrubbed
  std::string host, port, dbname, user;  // what libpq was trying when it failed
  double timeout_seconds = 0;
};

// Classifies libpq's error text (built with PQERRORS_VERBOSE, so server errors carry their
// SQLSTATE) into a FailureKind.
ConnectFailure classify_failure(std::string_view libpq_message, bool needs_password);

struct Diagnosis {
  std::string summary;
  std::string remediation;
};

// A one-line summary and a remediation specific to the failure.
Diagnosis explain(const ConnectFailure& failure);

// Reports the failure through `r` with `status`; details carry failure_kind, sqlstate, message.
// `what` (e.g. "Restore target") is prefixed to the summary when the check has two connections.
void report_connect_failure(sdk::Context& r, const ConnectFailure& failure, sdk::Status status,
                            const std::string& what = {});

}  // namespace backup_doctor::pg
