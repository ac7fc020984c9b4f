#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

TEST_CASE("pg.role") {
  PgServer& s = main_server();

  SUBCASE("a role whose password never expires") {
    auto r = run("pg.role", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r.status == Status::ok);
    CHECK(r.details["valid_until"].is_null());
    CHECK(r.metric("pg_role_password_days_until_expiry") == nullptr);
  }
  SUBCASE("an expired password, read by another role") {
    auto params = s.superuser();
    params["role"] = kExpired;
    auto r = run("pg.role", params);
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("expired") != std::string::npos);
    CHECK(r.remediation.find("ALTER ROLE backup_expired PASSWORD") != std::string::npos);
    REQUIRE(r.metric("pg_role_password_days_until_expiry") != nullptr);
    CHECK(r.metric("pg_role_password_days_until_expiry")->value < -365);
    CHECK(r.details["password_set"] == true);
  }
  SUBCASE("an expired password, when the role tries to log in itself") {
    auto r = run("pg.role", s.tcp(kExpired, kExpiredPw, "trixtech"));
    CHECK(r.status == Status::fail);
    CHECK(r.details["failure_kind"] == "authentication_failed");
  }
  SUBCASE("a password expiring within warn_before") {
    auto r = run("pg.role", s.tcp(kExpiring, kExpiringPw, "trixtech"));
    CHECK(r.status == Status::warn);
    auto days = r.metric("pg_role_password_days_until_expiry");
    REQUIRE(days != nullptr);
    CHECK(days->value > 2.9);
    CHECK(days->value <= 3.0);
    CHECK(days->labels["role"] == kExpiring);
    auto params = s.tcp(kExpiring, kExpiringPw, "trixtech");
    params["warn_before"] = "2d";
    CHECK(run("pg.role", params).status == Status::ok);
  }
  SUBCASE("a missing role, a NOLOGIN role, a role at its connection limit") {
    auto params = s.superuser();
    params["role"] = "ghost";
    auto r = run("pg.role", params);
    CHECK(r.status == Status::fail);
    CHECK(r.remediation.find("CREATE ROLE ghost LOGIN") != std::string::npos);
    params["role"] = kNoLogin;
    CHECK(run("pg.role", params).status == Status::fail);
    params["role"] = kLimited;
    auto r3 = run("pg.role", params);
    CHECK(r3.status == Status::fail);
    CHECK(r3.summary.find("connection limit") != std::string::npos);
  }
  SUBCASE("a server that is down is an error, not a verdict on the role") {
    auto params = s.superuser();
    params["role"] = kExpired;
    params["host"] = "127.0.0.1";
    params["port"] = free_port();
    CHECK(run("pg.role", params).status == Status::error);
  }
}
