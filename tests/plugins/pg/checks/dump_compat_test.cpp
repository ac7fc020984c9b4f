#include "fixtures.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

// Only PostgreSQL 15 is installed here; an older client is stood in for by a script that
// answers --version as pg_dump 13 would.
std::string fake_tool(const std::filesystem::path& dir, const std::string& name,
                      const std::string& version) {
  auto p = dir / name;
  std::ofstream(p) << "#!/bin/sh\necho '" << name << " (PostgreSQL) " << version << "'\n";
  std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  return p.string();
}

}  // namespace

TEST_CASE("pg.dump_compat") {
  PgServer& s = main_server();
  // Root's own directory: as root, only programs root alone can change are run.
  backup_doctor::test::TempDir tools("bd-pg-tools");

  SUBCASE("the installed 15 client against the 15 server, through Debian's wrapper") {
    auto r = run("pg.dump_compat", s.superuser());
    REQUIRE(r.status == Status::ok);
    CHECK(r.details["server_major"] == "15");
    CHECK(r.details["pg_dump"]["major"] == "15");
    CHECK(r.details["pg_restore"]["major"] == "15");
    CHECK(r.details["installed_pg_dump"].size() >= 1);
    CHECK(r.details["pg_dump"]["debian_pg_wrapper"] == true);
  }
  SUBCASE("an absolute path is used as given") {
    auto params = s.superuser();
    params["pg_dump"] = kPgBinDir + "/pg_dump";
    auto r = run("pg.dump_compat", params);
    CHECK(r.status == Status::ok);
    CHECK(!r.details["pg_dump"].contains("debian_pg_wrapper"));
  }
  SUBCASE("a pg_dump older than the server fails and names a suitable one") {
    auto params = s.superuser();
    params["pg_dump"] = fake_tool(tools.path(), "pg_dump", "13.4");
    auto r = run("pg.dump_compat", params);
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("pg_dump 13 is older than the server (15)") != std::string::npos);
    CHECK(r.remediation.find("/usr/lib/postgresql/15/bin/pg_dump") != std::string::npos);
  }
  SUBCASE("a pg_restore older than pg_dump warns") {
    auto params = s.superuser();
    params["pg_restore"] = fake_tool(tools.path(), "pg_restore", "14.9");
    auto r = run("pg.dump_compat", params);
    CHECK(r.status == Status::warn);
    CHECK(r.remediation.find("postgresql-client-15") != std::string::npos);
  }
  SUBCASE("a pg_dump another account can change is not run as root, and says so") {
    // The cluster's directory belongs to the postgres account.
    auto theirs = fake_tool(s.dir(), "pg_dump", "15.2");
    REQUIRE(chown(theirs.c_str(), 0, 0) == 0);
    auto params = s.superuser();
    params["pg_dump"] = theirs;
    auto r = run("pg.dump_compat", params);
    CHECK(r.status == Status::fail);
    CHECK(r.summary == "pg_dump " + theirs + " can be changed by someone other than root");
    CHECK(r.remediation.find("postgres") != std::string::npos);  // who can
    CHECK(r.remediation.find("chown root:root " + theirs) != std::string::npos);
    CHECK(r.remediation.find(kPgBinDir + "/pg_dump") != std::string::npos);
    CHECK(r.details["pg_dump"]["refused_untrusted"] == true);
  }
  SUBCASE("a missing pg_dump fails") {
    auto params = s.superuser();
    params["pg_dump"] = "pg_dump_that_does_not_exist";
    auto r = run("pg.dump_compat", params);
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("not found on PATH") != std::string::npos);
  }
}
