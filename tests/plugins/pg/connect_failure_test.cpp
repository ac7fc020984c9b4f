// classify_failure() on libpq's own wording (as produced with PQERRORS_VERBOSE), for
// every message form, including the ones connect_test.cpp produces for real in a private
// network namespace (unreachable network, SYNs dropped).
#include "connect_failure.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::pg;

TEST_CASE("classify_failure reads the SQLSTATE out of verbose server errors") {
  auto f = classify_failure(
      "connection to server at \"10.0.0.5\", port 5432 failed: FATAL:  28P01: password "
      "authentication failed for user \"backup\"\nLOCATION:  auth_failed, auth.c:326\n",
      false);
  CHECK(f.kind == FailureKind::auth_failed);
  CHECK(f.sqlstate == "28P01");
  CHECK(f.message.find("LOCATION") == std::string::npos);
  CHECK(f.message.find("FATAL:  password authentication failed") != std::string::npos);

  CHECK(
      classify_failure("... failed: FATAL:  53300: sorry, too many clients already", false).kind ==
      FailureKind::too_many_connections);
  CHECK(classify_failure("... failed: FATAL:  57P03: the database system is starting up", false)
            .kind == FailureKind::starting_up);
  CHECK(classify_failure("... failed: FATAL:  28000: pg_hba.conf rejects connection for host "
                         "\"10.1.1.1\", user \"b\", database \"d\", no encryption",
                         false)
            .kind == FailureKind::ssl_required);
  CHECK(classify_failure("... failed: FATAL:  28000: no pg_hba.conf entry for host \"10.1.1.1\", "
                         "user \"b\", database \"d\", SSL encryption",
                         false)
            .kind == FailureKind::hba_rejected);
}

TEST_CASE("classify_failure reads libpq's own network errors") {
  CHECK(
      classify_failure("connection to server at \"10.9.9.9\", port 5432 failed: No route to host\n"
                       "\tIs the server running on that host and accepting TCP/IP connections?",
                       false)
          .kind == FailureKind::unreachable);
  CHECK(classify_failure(
            "connection to server at \"10.9.9.9\", port 5432 failed: Connection timed out", false)
            .kind == FailureKind::timeout_tcp);
  CHECK(classify_failure("connection to server at \"127.0.0.1\", port 1 failed: Connection refused",
                         false)
            .kind == FailureKind::refused);
  CHECK(classify_failure("fe_sendauth: no password supplied", true).kind ==
        FailureKind::no_password);
  CHECK(classify_failure("something new", false).kind == FailureKind::other);
}

TEST_CASE("explain gives a remediation for every kind") {
  for (int k = 0; k <= static_cast<int>(FailureKind::other); ++k) {
    ConnectFailure f;
    f.kind = static_cast<FailureKind>(k);
    f.host = "db.example";
    f.port = "5432";
    f.user = "backup";
    f.dbname = "trixtech";
    f.message = "text";
    Diagnosis d = explain(f);
    CHECK(!d.summary.empty());
    CHECK(!d.remediation.empty());
    CHECK(kind_name(f.kind) != "");
  }
}
