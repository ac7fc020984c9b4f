#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

TEST_CASE("pg.extensions") {
  PgServer& s = main_server();

  SUBCASE("lists the extensions in use") {
    auto r = run("pg.extensions", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r.status == Status::ok);
    CHECK(r.details["installed_count"] == 2);  // plpgsql, pg_trgm
    CHECK(r.summary.find("pg_trgm") != std::string::npos);
    CHECK(r.metric("pg_extensions_installed")->value == 2);
  }
  SUBCASE("an expected extension that is not installed") {
    auto params = s.tcp(kBackupUser, kBackupPw, "trixtech");
    params["expect"] = {"pg_trgm", "uuid-ossp"};
    auto r = run("pg.extensions", params);
    CHECK(r.status == Status::fail);
    CHECK(r.remediation.find("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\";") != std::string::npos);
  }
  SUBCASE("a restore target that has them all") {
    auto params = s.tcp(kBackupUser, kBackupPw, "trixtech");
    params["target"] = s.superuser();
    auto r = run("pg.extensions", params);
    CHECK(r.status == Status::ok);
    CHECK(r.details["missing_on_target_count"] == 0);
  }
  SUBCASE("a restore target without pg_trgm") {
    PgServer& target = second_server();
    auto params = s.tcp(kBackupUser, kBackupPw, "trixtech");
    params["target"] = target.superuser();
    auto r = run("pg.extensions", params);
    CHECK(r.status == Status::fail);
    REQUIRE(r.details["missing_on_target"].size() == 1);
    CHECK(r.details["missing_on_target"][0]["name"] == "pg_trgm");
    CHECK(r.summary.find("pg_trgm") != std::string::npos);
    CHECK(r.metric("pg_extensions_missing_on_target")->value == 1);
  }
  SUBCASE("an unreachable restore target is an error naming the target") {
    auto params = s.tcp(kBackupUser, kBackupPw, "trixtech");
    params["target"] = {{"host", "127.0.0.1"}, {"port", free_port()}, {"password", "tgt-secret-9"}};
    auto r = run("pg.extensions", params);
    CHECK(r.status == Status::error);
    CHECK(r.summary.find("Restore target: ") == 0);
    CHECK(all_text(r).find("tgt-secret-9") == std::string::npos);
  }
}
