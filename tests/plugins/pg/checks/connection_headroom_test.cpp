#include "fixtures.hpp"

#include <libpq-fe.h>

#include <doctest/doctest.h>

#include <memory>
#include <vector>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

// Idle sessions held open for the duration of a subcase.
struct Sessions {
  std::vector<PGconn*> conns;
  ~Sessions() {
    for (auto* c : conns) PQfinish(c);
  }
  // Opens sessions as `user` until the server refuses one; returns how many it got.
  int fill(PgServer& s, const std::string& user, const std::string& pw, const std::string& db,
           int limit) {
    std::string port = std::to_string(s.port());
    for (int i = 0; i < limit; ++i) {
      const char* keys[] = {"host", "port", "user", "password", "dbname", nullptr};
      const char* values[] = {"127.0.0.1", port.c_str(), user.c_str(),
                              pw.c_str(),  db.c_str(),   nullptr};
      PGconn* c = PQconnectdbParams(keys, values, 0);
      if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return i;
      }
      conns.push_back(c);
    }
    return limit;
  }
  // One more session as the superuser, over the unix socket: it may take a reserved slot.
  bool hold_superuser(PgServer& s) {
    nlohmann::json p = s.superuser();
    std::string host = p["host"], port = std::to_string(p["port"].get<int>()), user = p["user"],
                db = p["dbname"];
    const char* keys[] = {"host", "port", "user", "dbname", nullptr};
    const char* values[] = {host.c_str(), port.c_str(), user.c_str(), db.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, 0);
    if (PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      return false;
    }
    conns.push_back(c);
    return true;
  }
};

// The summary's counts as the check must phrase them, from the numbers in its details.
std::string expected_counts(const nlohmann::json& d, const std::string& reserved) {
  std::string states = std::to_string(d["active"].get<int>()) + " active, " +
                       std::to_string(d["idle"].get<int>()) + " idle, " +
                       std::to_string(d["idle_in_transaction"].get<int>()) + " idle in transaction";
  return std::to_string(d["in_use"].get<int>()) + " of " +
         std::to_string(d["usable_connections"].get<int>()) + " connection slots in use, " +
         std::to_string(d["free"].get<int>()) + " free, and " + reserved + "; " +
         std::to_string(d["sessions"].get<int>()) + " sessions in all (" + states + ")";
}

}  // namespace

TEST_CASE("pg.connection_headroom") {
  PgServer& s = main_server();

  SUBCASE("plenty of slots") {
    auto r = run("pg.connection_headroom", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    REQUIRE(r.status == Status::ok);
    CHECK(r.details["max_connections"] == 20);
    CHECK(r.details["usable_connections"] == 17);
    CHECK(r.details["in_use"].get<int>() >= 1);
    REQUIRE(r.metric("pg_connections_available") != nullptr);
    CHECK(r.metric("pg_connection_usage")->unit == "percent");
  }
  SUBCASE("idle sessions count, and low headroom warns naming who holds the slots") {
    Sessions held;
    REQUIRE(held.fill(s, kBackupUser, kBackupPw, "trixtech", 12) == 12);
    auto r = run("pg.connection_headroom", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r.status == Status::warn);  // 13+ of 17 in use is over 80%
    CHECK(r.details["idle"].get<int>() >= 12);
    CHECK(r.remediation.find("of backup_user") != std::string::npos);
    CHECK(r.remediation.find("pg_terminate_backend") != std::string::npos);
  }
  SUBCASE("all ordinary slots taken: fail, seen through a superuser's reserved slot") {
    Sessions held;
    held.fill(s, kBackupUser, kBackupPw, "trixtech", 30);
    CHECK(held.conns.size() >= 10);  // the fixture's own sessions hold the rest
    auto r = run("pg.connection_headroom", s.superuser());
    CHECK(r.status == Status::fail);
    CHECK(r.details["free"] == 0);
    CHECK(r.metric("pg_connections_available")->value == 0);
    // The check's own session is in a reserved slot: not counted against the 17 ordinary ones.
    CHECK(r.details["in_use"] == 17);
    CHECK(r.details["usable_connections"] == 17);
    CHECK(r.details["usage_percent"] == 100.0);
    CHECK(r.details["in_reserved_slots"] == 1);
    CHECK(r.details["sessions"] == 18);
    CHECK(r.details["own_session_in_reserved_slot"] == true);
    CHECK(r.metric("pg_connections_in_use")->value == 17);
    CHECK(r.metric("pg_connection_usage")->value == 100.0);
    CHECK(r.metric("pg_connections_reserved_in_use")->value == 1);
    CHECK(r.summary ==
          "No connection slot left for ordinary roles: " +
              expected_counts(r.details, "1 more session in a reserved slot (this check's own)"));
    CHECK(r.remediation.find("2 of the 3 reserved slots are free besides the one this check "
                             "holds while it runs") != std::string::npos);
    // The backup role itself cannot get in at all, and is told why.
    auto r2 = run("pg.connection_headroom", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r2.status == Status::error);
    CHECK(r2.details["failure_kind"] == "too_many_connections");
  }
  SUBCASE("other superusers in reserved slots: the ratio stays at 100%") {
    Sessions held;
    held.fill(s, kBackupUser, kBackupPw, "trixtech", 30);
    REQUIRE(held.hold_superuser(s));
    auto r = run("pg.connection_headroom", s.superuser());
    CHECK(r.status == Status::fail);
    CHECK(r.details["in_use"] == 17);
    CHECK(r.details["in_reserved_slots"] == 2);
    CHECK(r.details["usage_percent"] == 100.0);
    CHECK(r.summary ==
          "No connection slot left for ordinary roles: " +
              expected_counts(r.details,
                              "2 more sessions in reserved slots (this check's own among them)"));
    CHECK(r.remediation.find("1 of the 3 reserved slots are free") != std::string::npos);
  }
  SUBCASE("the database's own connection limit") {
    s.exec("ALTER DATABASE rlsdb CONNECTION LIMIT 2");
    Sessions held;
    // Fill up to the limit (the fixture may hold a session there already).
    REQUIRE(held.fill(s, kBackupUser, kBackupPw, "rlsdb", 5) >= 1);
    auto r = run("pg.connection_headroom", s.superuser("rlsdb"));
    s.exec("ALTER DATABASE rlsdb CONNECTION LIMIT -1");
    CHECK(r.status == Status::fail);
    CHECK(r.details["database_free"] == 0);
    CHECK(r.remediation.find("ALTER DATABASE rlsdb CONNECTION LIMIT") != std::string::npos);
  }
}
