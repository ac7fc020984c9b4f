#include "fixtures.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

// A directory-format dump is read by name: as its owner, the only one who may read it.
nlohmann::json verify(const std::filesystem::path& p) {
  nlohmann::json params = {{"path", p.string()},
                           {"expect_tables", {"users", "bookings", "booking.rooms"}}};
  if (std::filesystem::is_directory(p)) params["run_as"] = "postgres";
  return params;
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
  SUBCASE("pg_restore never runs as root, and says so when its account cannot read a dump") {
    auto r = run("pg.dump_verify", verify(d.custom));
    CHECK(r.details["run_as"] == "nobody");
    auto params = verify(d.directory);
    params.erase("run_as");
    auto dir = run("pg.dump_verify", params);
    CHECK(dir.status == Status::error);
    CHECK(dir.summary.find("pg_restore, run as nobody, cannot read the directory-format dump") ==
          0);
    CHECK(dir.remediation.find("account that owns the dumps (here postgres)") != std::string::npos);
    params["run_as"] = "root";
    auto as_root = run("pg.dump_verify", params);
    CHECK(as_root.status == Status::error);
    CHECK(as_root.summary.find("run_as 'root' is root") == 0);
    params["run_as"] = "no-such-account-x";
    CHECK(run("pg.dump_verify", params).summary.find("is not an account on this host") !=
          std::string::npos);
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

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The real plain dump with `extra` inserted after its first `after` line.
std::string tampered(const std::string& extra,
                     const std::string& after = "SET row_security = off;\n") {
  std::string dump = read_all(dumps().plain);
  size_t at = dump.find(after);
  REQUIRE(at != std::string::npos);
  return dump.insert(at + after.size(), extra);
}

}  // namespace

TEST_CASE("pg.dump_verify on dumps someone changed or replaced") {
  backup_doctor::test::TempDir tmp("bd-pg-tamper");
  PgServer& s = main_server();

  SUBCASE("a meta-command in a plain dump fails, naming it and its line") {
    auto p = tmp.write("evil.sql", tampered("\\! id > /tmp/owned\n"));
    auto r = run("pg.dump_verify", verify(p));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("contains a psql meta-command at line ") != std::string::npos);
    CHECK(r.summary.find("\\! (runs a shell command)") != std::string::npos);
    CHECK(r.remediation.find("someone or something changed this file") != std::string::npos);
    CHECK(r.details["psql_command"]["line"].get<int>() > 5);
    auto c = run("pg.dump_verify", verify(tmp.write("c.sql", tampered("\\c postgres\n"))));
    CHECK(c.summary.find("\\c (connects to another database)") != std::string::npos);
  }
  SUBCASE("a FIFO, a link or a device where the dump should be is reported, never opened") {
    auto fifo = tmp.path() / "latest.dump";
    REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
    auto started = std::chrono::steady_clock::now();
    auto r = run("pg.dump_verify", verify(fifo));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("is a FIFO (named pipe), not a file") != std::string::npos);
    std::filesystem::create_symlink(dumps().custom, tmp.path() / "link.dump");
    auto l = run("pg.dump_verify", verify(tmp.path() / "link.dump"));
    CHECK(l.status == Status::fail);
    CHECK(l.summary.find("is a symbolic link to " + dumps().custom.string() + "; not followed") !=
          std::string::npos);
    auto dev = run("pg.dump_verify", verify("/dev/zero"));
    CHECK(dev.summary.find("is a character device") != std::string::npos);
    // The newest match of a pattern is judged by its own time, and not followed either.
    std::filesystem::copy_file(dumps().custom, tmp.path() / "b.dump");
    std::filesystem::last_write_time(
        tmp.path() / "b.dump",
        std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
    std::filesystem::remove(fifo);
    nlohmann::json params = {{"path", tmp.path().string()}, {"pattern", "*.dump"}};
    auto newest = run("pg.dump_verify", params);  // link.dump was made last
    CHECK(newest.status == Status::fail);
    CHECK(newest.summary.find("link.dump is a symbolic link") != std::string::npos);
  }
  SUBCASE("a directory-format dump with a FIFO or a link inside is not read") {
    auto copy = tmp.path() / "copy.dir";
    std::filesystem::copy(dumps().directory, copy);
    auto pg = backup_doctor::support::lookup_user("postgres");
    REQUIRE(chown(copy.c_str(), pg->uid, pg->gid) == 0);
    std::string data;
    for (const auto& e : std::filesystem::directory_iterator(copy))
      if (e.path().filename() != "toc.dat") data = e.path().string();
    std::filesystem::remove(data);
    REQUIRE(mkfifo(data.c_str(), 0644) == 0);
    auto started = std::chrono::steady_clock::now();
    auto r = run("pg.dump_verify", verify(copy));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("a FIFO (named pipe), which pg_dump never writes") != std::string::npos);
  }
  SUBCASE("deep restore: databases and roles in a plain dump, in any case") {
    auto p = tmp.write("db.sql", tampered("create database bd_attacker_db;\n"));
    auto params = verify(p);
    params["restore"] = s.tcp(kRestorer, kRestorerPw, "postgres");
    auto r = run("pg.dump_verify", params);
    CHECK(r.status == Status::error);
    CHECK(r.summary.find("deep restore was refused: it runs CREATE DATABASE (line ") !=
          std::string::npos);
    auto role = tmp.write("role.sql", tampered("ALTER\n  ROLE restorer PASSWORD 'x';\n"));
    params["path"] = role.string();
    CHECK(run("pg.dump_verify", params).summary.find("ALTER ROLE") != std::string::npos);
    CHECK(s.query("SELECT count(*) FROM pg_database WHERE datname = 'bd_attacker_db'") == "0");
  }
  SUBCASE("deep restore: a role that could reach beyond the scratch database is refused") {
    s.exec(
        "DROP ROLE IF EXISTS bd_prog; CREATE ROLE bd_prog LOGIN CREATEDB PASSWORD 'Pg-Pw-1' "
        "IN ROLE pg_execute_server_program");
    s.exec(
        "DROP ROLE IF EXISTS bd_cr; CREATE ROLE bd_cr LOGIN CREATEDB CREATEROLE PASSWORD "
        "'Cr-Pw-1'");
    auto params = verify(dumps().custom);
    params["restore"] = s.superuser("postgres");
    auto su = run("pg.dump_verify", params);
    CHECK(su.status == Status::error);
    CHECK(su.summary.find("The restore role postgres is a superuser") == 0);
    CHECK(su.remediation.find("CREATE ROLE bd_restore LOGIN CREATEDB") != std::string::npos);
    params["restore"] = s.tcp("bd_prog", "Pg-Pw-1", "postgres");
    auto prog = run("pg.dump_verify", params);
    CHECK(prog.summary.find("has the privileges of pg_execute_server_program") !=
          std::string::npos);
    CHECK(prog.remediation.find("REVOKE pg_execute_server_program FROM bd_prog;") !=
          std::string::npos);
    params["restore"] = s.tcp("bd_cr", "Cr-Pw-1", "postgres");
    CHECK(run("pg.dump_verify", params).summary.find("has CREATEROLE") != std::string::npos);
    CHECK(s.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'bd_verify_%'") == "0");
    s.exec("DROP ROLE bd_prog; DROP ROLE bd_cr");
  }
  SUBCASE("deep restore of a custom dump with parallel jobs") {
    auto params = verify(dumps().custom);
    params["restore"] = s.tcp(kRestorer, kRestorerPw, "postgres");
    params["restore"]["jobs"] = 2;
    auto r = run("pg.dump_verify", params);
    INFO(all_text(r));
    CHECK(r.status == Status::ok);
    CHECK(r.details["restore"]["jobs"] == 2);  // nobody can read this root file (0644)
  }
}
