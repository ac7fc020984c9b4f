#include "pg_fixture.hpp"

#include "support/temp_dir.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include <fstream>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

nlohmann::json verify(const std::filesystem::path& p) {
  return {{"path", p.string()}, {"expect_tables", {"users", "bookings", "booking.rooms"}}};
}

std::string databases(PgServer& s) {
  return s.query("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
}

}  // namespace

TEST_CASE("pg.dump_verify reads dumps whole") {
  const Dumps& d = dumps();

  SUBCASE("every format pg_dump writes") {
    for (const auto& p : {d.custom, d.tar, d.directory, d.plain, d.plain_gz}) {
      CAPTURE(p);
      auto r = run("pg.dump_verify", verify(p));
      CHECK(r.status == Status::ok);
      CHECK(r.details["tables_with_data"] == 4);
      CHECK(r.metric("pg_dump_size")->value > 0);
    }
    auto r = run("pg.dump_verify", verify(d.custom));
    CHECK(r.details["toc_entries"].get<int>() > 10);
    CHECK(r.details["dbname"] == "trixtech");
    CHECK(r.summary.find("all data readable") != std::string::npos);
    // Debian's wrapper is bypassed for reading: the newest installed pg_restore reads them all.
    CHECK(r.details["pg_restore"] == kPgBinDir + "/pg_restore");
    auto gz = run("pg.dump_verify", verify(d.plain_gz));
    CHECK(gz.details["restore_with"].get<std::string>().find("gunzip -c") == 0);
  }
  SUBCASE("the newest dump matching a pattern in a directory") {
    nlohmann::json params = {{"path", d.custom.parent_path().string()}, {"pattern", "*.tar"}};
    auto r = run("pg.dump_verify", params);
    CHECK(r.status == Status::ok);
    CHECK(r.details["path"] == d.tar.string());
    params["pattern"] = "*.nothing";
    auto none = run("pg.dump_verify", params);
    CHECK(none.status == Status::fail);
    CHECK(none.summary.find("No dump matching *.nothing") != std::string::npos);
  }
  SUBCASE("a truncated custom archive: the TOC survives, the data does not") {
    auto r = run("pg.dump_verify", verify(d.truncated_custom));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("is damaged") != std::string::npos);
    auto params = verify(d.truncated_custom);
    params["full_read"] = false;
    CHECK(run("pg.dump_verify", params).status == Status::ok);
  }
  SUBCASE("a truncated plain dump lacks the completion trailer") {
    auto r = run("pg.dump_verify", verify(d.truncated_plain));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("completion trailer is missing") != std::string::npos);
  }
  SUBCASE("a truncated gzip stream") {
    auto r = run("pg.dump_verify", verify(d.truncated_gz));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("cannot be read to the end") != std::string::npos);
  }
  SUBCASE("a gzip stream cut so short that nothing decompresses") {
    backup_doctor::test::TempDir tmp("bd-pg-shortgz");
    std::ifstream in(d.plain_gz, std::ios::binary);
    std::string head(300, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    auto p = tmp.write("cut.sql.gz", head);
    auto r = run("pg.dump_verify", verify(p));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("is a damaged gzip stream") != std::string::npos);
    CHECK(r.remediation.find("gzip -t") != std::string::npos);
    auto empty = run("pg.dump_verify", verify(tmp.write("empty.dump", "")));
    CHECK(empty.status == Status::fail);
    CHECK(empty.summary.find("is empty") != std::string::npos);
  }
  SUBCASE("a gzip stream cut so short that nothing decompresses") {
    backup_doctor::test::TempDir tmp("bd-pg-shortgz");
    std::ifstream in(d.plain_gz, std::ios::binary);
    std::string head(300, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    auto p = tmp.write("cut.sql.gz", head);
    auto r = run("pg.dump_verify", verify(p));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("is a damaged gzip stream") != std::string::npos);
    CHECK(r.remediation.find("gzip -t") != std::string::npos);
    auto empty = run("pg.dump_verify", verify(tmp.write("empty.dump", "")));
    CHECK(empty.status == Status::fail);
    CHECK(empty.summary.find("is empty") != std::string::npos);
  }
  SUBCASE("expected tables: missing, or present without data") {
    auto params = verify(d.custom);
    params["expect_tables"] = {"users", "payments"};
    auto r = run("pg.dump_verify", params);
    CHECK(r.status == Status::fail);
    CHECK(r.details["missing_tables"] == nlohmann::json::array({"payments"}));
    auto r2 = run("pg.dump_verify", verify(d.schema_only));
    CHECK(r2.status == Status::fail);
    CHECK(r2.summary.find("(definition only, no data)") != std::string::npos);
  }
  SUBCASE("files that are not restorable as they are") {
    auto wrapped = run("pg.dump_verify", verify(d.custom_gz));
    CHECK(wrapped.status == Status::fail);
    CHECK(wrapped.remediation.find("gunzip -c") != std::string::npos);
    auto junk = run("pg.dump_verify", verify(d.not_a_dump));
    CHECK(junk.status == Status::fail);
    CHECK(junk.summary.find("is not a PostgreSQL dump") != std::string::npos);
    auto missing = run("pg.dump_verify", verify(d.custom.parent_path() / "nope.dump"));
    CHECK(missing.status == Status::fail);
    auto params = verify(d.plain);
    params["format"] = "custom";
    CHECK(run("pg.dump_verify", params).status == Status::fail);
  }
}

TEST_CASE("pg.dump_verify deep mode restores into a scratch database and drops it") {
  const Dumps& d = dumps();
  PgServer& s = main_server();
  std::string before = databases(s);
  auto deep = [&](const std::filesystem::path& p, nlohmann::json queries) {
    auto params = verify(p);
    params["restore"] = s.tcp(kRestorer, kRestorerPw, "postgres");
    params["restore"]["queries"] = queries;
    return params;
  };
  nlohmann::json counts = {
      {{"name", "users"}, {"sql", "SELECT count(*) FROM public.users"}, {"min", 2000}},
      {{"sql", "SELECT count(*) FROM booking.rooms"}, {"min", 1}, {"max", 50}}};

  SUBCASE("custom format, with row counts") {
    auto r = run("pg.dump_verify", deep(d.custom, counts));
    CHECK(r.status == Status::ok);
    CHECK(r.details["restore"]["dropped"] == true);
    CHECK(r.details["restore"]["queries"][0]["value"] == "2000");
    CHECK(r.details["restore"]["scratch_database"].get<std::string>().rfind("bd_verify_", 0) == 0);
    REQUIRE(r.metric("pg_restore_duration") != nullptr);
    CHECK(r.summary.find("restores cleanly") != std::string::npos);
  }
  SUBCASE("compressed plain SQL goes through psql") {
    auto r = run("pg.dump_verify", deep(d.plain_gz, counts));
    INFO(all_text(r));
    CHECK(r.status == Status::ok);
    CHECK(r.details["restore"]["error_count"] == 0);
  }
  SUBCASE("a row count below the minimum") {
    nlohmann::json q = {{{"sql", "SELECT count(*) FROM public.users"}, {"min", 5000}}};
    auto r = run("pg.dump_verify", deep(d.custom, q));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("below the expected minimum") != std::string::npos);
    CHECK(r.details["restore"]["dropped"] == true);
  }
  SUBCASE("a damaged archive fails the restore, and the scratch database still goes") {
    auto params = deep(d.truncated_custom, counts);
    params["full_read"] = false;
    auto r = run("pg.dump_verify", params);
    CHECK(r.status == Status::fail);
    CHECK(r.details["restore"]["error_count"].get<int>() >= 1);
    CHECK(r.details["restore"]["dropped"] == true);
  }
  SUBCASE("a dump that switches databases is not restored") {
    auto r = run("pg.dump_verify", deep(d.with_create, counts));
    CHECK(r.status == Status::error);
    CHECK(r.summary.find("deep restore was refused") != std::string::npos);
  }
  SUBCASE("a restore role without CREATEDB") {
    auto params = deep(d.custom, counts);
    params["restore"] = s.tcp(kBackupUser, kBackupPw, "trixtech");
    auto r = run("pg.dump_verify", params);
    CHECK(r.status == Status::error);
    CHECK(r.remediation.find("ALTER ROLE backup_user CREATEDB;") != std::string::npos);
    CHECK(all_text(r).find(kBackupPw) == std::string::npos);
  }
  SUBCASE("scratch databases of interrupted runs are reported, not dropped") {
    s.exec("CREATE DATABASE bd_verify_leftover");
    s.exec("COMMENT ON DATABASE bd_verify_leftover IS 'backup-doctor scratch restore of x'");
    auto r = run("pg.dump_verify", deep(d.custom, counts));
    CHECK(r.status == Status::warn);
    CHECK(r.remediation.find("DROP DATABASE bd_verify_leftover;") != std::string::npos);
    CHECK(s.query("SELECT count(*) FROM pg_database WHERE datname = 'bd_verify_leftover'") == "1");
    s.exec("DROP DATABASE bd_verify_leftover");
  }
  // Whatever happened, the set of databases is what it was.
  CHECK(databases(s) == before);
}
