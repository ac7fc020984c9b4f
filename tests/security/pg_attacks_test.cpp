// Attacks on pg.dump_verify by the backup account, which owns the directory the dumps are in:
// a plain dump that asks psql to run a shell command or to connect elsewhere, COPY data that
// psql would read as statements, a link to a root-only file, a FIFO, a file rewritten while it
// is restored, its own pg_restore, and a restore that outlives the check. Run as root through
// the real CLI against a real PostgreSQL 15.
#include "hostile.hpp"
#include "plugins/pg/pg_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

using namespace backup_doctor;
using namespace backup_doctor::test;
using backup_doctor::test::pg::kPgBinDir;
using backup_doctor::test::pg::PgServer;
using backup_doctor::test::pg::ServerOptions;

namespace {

const std::string kRestorePw = "Rst-Secret-6f1c0e";
const std::string kSuperPw = "Sup-Secret-90ab17";

PgServer& server() {
  static std::unique_ptr<PgServer> s = [] {
    ServerOptions o;
    o.tag = "attack";
    o.hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
    auto srv = std::make_unique<PgServer>(o);
    srv->exec("CREATE ROLE restorer LOGIN CREATEDB PASSWORD '" + kRestorePw + "';" +
              "CREATE ROLE bd_super LOGIN SUPERUSER PASSWORD '" + kSuperPw + "';");
    srv->exec("CREATE DATABASE shop");
    srv->exec("CREATE DATABASE victim");
    srv->exec("CREATE TABLE keep (x int); INSERT INTO keep VALUES (1);", "victim");
    srv->exec(
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
        "shop");
    return srv;
  }();
  return *s;
}

// pg_dump's plain output of `shop`, without the \restrict and \unrestrict lines pg_dump 15.14
// and later write: the attacker writes the file, and would not leave psql in restricted mode.
const std::string& plain_dump() {
  static const std::string dump = [] {
    PgServer& s = server();
    auto r = support::run_process({kPgBinDir + "/pg_dump", "-h", s.socket_dir(), "-p",
                                   std::to_string(s.port()), "-U", "postgres", "-d", "shop"});
    if (!r.ok()) throw std::runtime_error("pg_dump failed: " + r.err);
    std::string out, line;
    std::istringstream in(r.out);
    while (std::getline(in, line))
      if (!line.starts_with("\\restrict ") && !line.starts_with("\\unrestrict "))
        out += line + "\n";
    return out;
  }();
  return dump;
}

// The dump with `extra` right after its SET lines.
std::string with(const std::string& extra) {
  std::string d = plain_dump();
  const std::string after = "SET row_security = off;\n";
  size_t at = d.find(after);
  if (at == std::string::npos) throw std::runtime_error("no '" + after + "' in pg_dump's output");
  return d.insert(at + after.size(), extra);
}

std::string databases() {
  return server().query("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
}

std::set<std::string> tmp_entries(const std::string& prefix) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/tmp"))
    if (e.path().filename().string().starts_with(prefix)) out.insert(e.path().string());
  return out;
}

// The secret file the checklist takes the restore password from (root's, 0600).
std::string secret_file(const Scene& scene, const std::string& pw) {
  auto p = scene.base() / "conf" / ("pw-" + std::to_string(pw.size()));
  std::ofstream(p) << pw << "\n";
  chmod(p.c_str(), 0600);
  return p.string();
}

nlohmann::json restore_params(const Scene& scene, const std::string& user = "restorer",
                              const std::string& pw = kRestorePw) {
  return {{"host", "127.0.0.1"},
          {"port", server().port()},
          {"user", user},
          {"dbname", "postgres"},
          {"password", {{"secret", {{"file", secret_file(scene, pw)}}}}}};
}

nlohmann::json verify_check(const Scene& scene, const std::filesystem::path& path,
                            nlohmann::json with = nlohmann::json::object(), bool deep = true,
                            const std::string& timeout = "60s") {
  with["path"] = path.string();
  if (deep && !with.contains("restore")) with["restore"] = restore_params(scene);
  return {{{"id", "verify"}, {"use", "pg.dump_verify"}, {"timeout", timeout}, {"with", with}}};
}

// hostile.hpp's run_as_root() with --log-level before the subcommand: it is an option of the
// program, and the CLI refuses it after `run` (the shared harness passes it there).
// What every attack must leave true.
struct Before {
  std::string dbs = databases();
  std::set<std::string> tool_dirs = tmp_entries("bd-pg-tool-");
};

// For a failure message: the processes running `program`, with their state and parent.
std::string who_runs(const std::string& program) {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string c = test::read_proc_file(e.path() / "cmdline");
    if (c.find(program) == std::string::npos) continue;
    std::string s = test::read_proc_file(e.path() / "stat");
    for (char& ch : c) ch = ch == '\0' ? ' ' : ch;
    out += e.path().filename().string() + ": " + c + " | " + s + "\n";
  }
  return out;
}

void contained(const Outcome& o, const Scene& scene, const std::filesystem::path& marker,
               const Before& before, std::chrono::seconds within = std::chrono::seconds(60)) {
  CHECK(marker_owner(marker) != 0);  // nothing ran as root on the dump's behalf
  CHECK(o.everything.find(scene.secret_token()) == std::string::npos);
  CHECK(o.everything.find(kRestorePw) == std::string::npos);
  CHECK(o.everything.find(kSuperPw) == std::string::npos);
  CHECK(o.elapsed < within + std::chrono::seconds(5));
  CHECK_MESSAGE(processes_with(kPgBinDir + "/psql") == 0, who_runs(kPgBinDir + "/psql"));
  CHECK(processes_with(kPgBinDir + "/pg_restore") == 0);
  CHECK(databases() == before.dbs);  // scratch database dropped, nothing else created
  CHECK(tmp_entries("bd-pg-tool-") == before.tool_dirs);
  CHECK(server().query("SELECT count(*) FROM keep", "victim") == "1");
}

std::string status(const Outcome& o) {
  REQUIRE_MESSAGE(o.report.is_object(), "no JSON report: " << o.process.err << o.process.out);
  return o.result("verify")["status"].get<std::string>();
}
std::string summary(const Outcome& o) {
  return o.result("verify")["summary"].get<std::string>();
}

}  // namespace

TEST_CASE("a shell command in a plain dump never runs, let alone as root") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump = scene.plant("shop.sql", with("\\! id -u > " + marker.string() + "\n"));
  auto o = run_as_root(scene, verify_check(scene, dump));
  CHECK(status(o) == "fail");
  CHECK(summary(o).find("contains a psql meta-command at line") != std::string::npos);
  CHECK(summary(o).find("\\! (runs a shell command)") != std::string::npos);
  CHECK(marker_owner(marker) == -1);
  contained(o, scene, marker, before);
}

TEST_CASE("a dump that connects elsewhere or creates databases touches nothing outside") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  const std::string pwn = "CREATE TABLE pwned (x int);\n";
  for (const std::string& extra :
       std::vector<std::string>{"\\c victim\n" + pwn, "\\connect victim\n" + pwn,
                                "\\connect postgres\n" + pwn, "create database bd_evil;\n",
                                "CREATE\n  DataBase bd_evil2;\n", "DROP DATABASE victim;\n"}) {
    CAPTURE(extra);
    auto dump = scene.plant("shop.sql", with(extra));
    auto o = run_as_root(scene, verify_check(scene, dump));
    CHECK(status(o) != "ok");  // tampered (\c), or the deep restore is refused
    contained(o, scene, marker, before);
    CHECK(server().query("SELECT count(*) FROM pg_tables WHERE tablename = 'pwned'", "victim") ==
          "0");
    CHECK(server().query("SELECT count(*) FROM pg_tables WHERE tablename = 'pwned'") == "0");
  }
}

TEST_CASE("COPY data psql would read as statements after a failed COPY is never run") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump = scene.plant(
      "shop.sql",
      with("COPY nosuch FROM stdin;\n\\! id -u > " + marker.string() +
           "\nCREATE DATABASE bd_from_copy;\nALTER ROLE restorer PASSWORD 'x';\n\\.\n"));
  auto o = run_as_root(scene, verify_check(scene, dump));
  CHECK(status(o) == "fail");  // the restore stops at the failed COPY
  CHECK(o.result("verify")["details"]["restore"]["dropped"] == true);
  CHECK(marker_owner(marker) == -1);
  contained(o, scene, marker, before);
  // The password still works: nothing changed the role.
  auto again = run_as_root(scene, verify_check(scene, scene.plant("ok.sql", plain_dump())));
  CHECK(status(again) == "ok");
}

TEST_CASE("a psql variable that psql would lex again is refused") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump =
      scene.plant("shop.sql", with("DO $$ BEGIN RAISE EXCEPTION '\\! id -u > " + marker.string() +
                                   "'; END $$;\nSELECT :LAST_ERROR_MESSAGE;\n"));
  auto o = run_as_root(scene, verify_check(scene, dump));
  CHECK(status(o) == "fail");
  CHECK(summary(o).find("a psql variable substituted as text") != std::string::npos);
  contained(o, scene, marker, before);
}

TEST_CASE("a dump replaced by a link to a root-only file is not read") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto link = scene.plant_symlink("shop.sql", scene.secret_file().string());
  auto o = run_as_root(scene, verify_check(scene, link));
  CHECK(status(o) == "fail");
  CHECK(summary(o).find("is a symbolic link to " + scene.secret_file().string() +
                        "; not followed") != std::string::npos);
  // Picked as the newest match of a pattern: the same.
  auto p = run_as_root(scene, verify_check(scene, scene.home(), {{"pattern", "*.sql"}}));
  CHECK(status(p) == "fail");
  CHECK(summary(p).find("symbolic link") != std::string::npos);
  contained(o, scene, marker, before);
  contained(p, scene, marker, before);
}

TEST_CASE("a FIFO as the newest dump does not hang the check") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto old = scene.plant("shop-1.sql", plain_dump());
  as_attacker([&] {
    std::filesystem::last_write_time(
        old, std::filesystem::file_time_type::clock::now() - std::chrono::hours(24));
  });
  scene.plant_fifo("shop-2.sql");
  auto o = run_as_root(scene, verify_check(scene, scene.home(), {{"pattern", "shop-*.sql"}}));
  CHECK(status(o) == "fail");
  CHECK(summary(o).find("is a FIFO (named pipe)") != std::string::npos);
  contained(o, scene, marker, before, std::chrono::seconds(10));
  auto direct = run_as_root(scene, verify_check(scene, scene.home() / "shop-2.sql"));
  CHECK(status(direct) == "fail");
  contained(direct, scene, marker, before, std::chrono::seconds(10));
}

TEST_CASE("a dump rewritten while it is restored: the new content is checked as it streams") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  // A slow statement first, then far more than any pipe or read-ahead holds.
  std::string padding;
  for (int i = 0; i < 40000; ++i)
    padding += "-- padding line " + std::to_string(100000 + i) + " " + std::string(60, '-') + "\n";
  auto dump = scene.plant("shop.sql", with("SELECT pg_sleep(3);\n" + padding));
  std::string payload = "\\! id -u > " + marker.string();
  std::string line =
      "-- padding line " + std::to_string(100000 + 39000) + " " + std::string(60, '-') + "\n";
  REQUIRE(payload.size() < line.size());
  payload += std::string(line.size() - 1 - payload.size(), ' ') + "\n";
  std::thread attacker([&] {
    // Once psql runs (after the scan), overwrite a line near the end in place.
    for (int i = 0; i < 400 && processes_with(kPgBinDir + "/psql") == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    as_attacker([&] {
      std::fstream f(dump, std::ios::in | std::ios::out | std::ios::binary);
      std::string all((std::istreambuf_iterator<char>(f)), {});
      f.seekp(static_cast<std::streamoff>(all.find(line)));
      f << payload;
    });
  });
  auto o = run_as_root(scene, verify_check(scene, dump));
  attacker.join();
  CHECK(status(o) == "fail");
  CHECK(summary(o).find("was stopped at line") != std::string::npos);
  CHECK(summary(o).find("\\! (runs a shell command)") != std::string::npos);
  CHECK(marker_owner(marker) == -1);
  contained(o, scene, marker, before);
}

TEST_CASE("pg_restore or psql from the backup account's directory is not run") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto tool = scene.plant_payload("bin/pg_restore", marker);
  auto custom =
      support::run_process({kPgBinDir + "/pg_dump", "-Fc", "-h", server().socket_dir(), "-p",
                            std::to_string(server().port()), "-U", "postgres", "-d", "shop"});
  REQUIRE(custom.ok());
  auto dump = scene.plant("shop.dump", custom.out);
  auto o = run_as_root(scene, verify_check(scene, dump, {{"pg_restore", tool.string()}}));
  CHECK(status(o) == "error");
  CHECK(summary(o).find("is not safe to run") != std::string::npos);
  CHECK(summary(o).find("backup-doctor-test") != std::string::npos);
  contained(o, scene, marker, before);
  auto psql = scene.plant_payload("bin/psql", marker);
  auto restore = restore_params(scene);
  restore["psql"] = psql.string();
  auto p = run_as_root(
      scene, verify_check(scene, scene.plant("shop.sql", plain_dump()), {{"restore", restore}}));
  CHECK(status(p) == "error");
  CHECK(summary(p).find("Cannot run psql") != std::string::npos);
  CHECK(marker_owner(marker) == -1);
  contained(p, scene, marker, before);
}

TEST_CASE("a superuser restore role is refused before anything is restored") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump = scene.plant("shop.sql",
                          with("COPY (SELECT 1) TO PROGRAM 'id -u > " + marker.string() + "';\n"));
  auto o = run_as_root(
      scene, verify_check(scene, dump, {{"restore", restore_params(scene, "bd_super", kSuperPw)}}));
  CHECK(status(o) == "error");
  CHECK(summary(o).find("The restore role bd_super is a superuser") == 0);
  CHECK(marker_owner(marker) == -1);
  contained(o, scene, marker, before);
}

TEST_CASE("the restore password is in no program's environment, command line or output") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump = scene.plant("shop.sql", with("SELECT pg_sleep(2);\n"));
  std::atomic<bool> done{false};
  std::atomic<int> seen_psql{0}, leaks{0};
  std::atomic<bool> pgpassword{false}, passfile_ok{false};
  std::thread sampler([&] {
    while (!done) {
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string pid = e.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmd = test::read_proc_file(e.path() / "cmdline"),
                    env = test::read_proc_file(e.path() / "environ");
        if (cmd.find(kRestorePw) != std::string::npos || env.find(kRestorePw) != std::string::npos)
          ++leaks;
        if (!cmd.starts_with(kPgBinDir + "/psql")) continue;
        ++seen_psql;
        if (env.find("PGPASSWORD=") != std::string::npos) pgpassword = true;
        size_t at = env.find("PGPASSFILE=");
        if (at == std::string::npos) continue;
        std::string file = env.substr(at + 11, env.find('\0', at) - at - 11);
        struct stat st {};
        auto nobody = support::lookup_user("nobody");
        if (lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == nobody->uid &&
            (st.st_mode & 0777) == 0600)
          passfile_ok = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto o = run_as_root(scene, verify_check(scene, dump));
  done = true;
  sampler.join();
  CHECK(status(o) == "ok");
  CHECK(seen_psql > 0);
  CHECK(leaks == 0);
  CHECK_FALSE(pgpassword);
  CHECK(passfile_ok);
  contained(o, scene, marker, before);
}

TEST_CASE("a restore that outlives the check is stopped and cleaned up in time") {
  Scene scene;
  Before before;
  auto marker = scene.home() / "ran";
  auto dump = scene.plant("shop.sql", with("SELECT pg_sleep(600);\n"));
  auto o = run_as_root(scene, verify_check(scene, dump, {}, true, "6s"));
  CHECK(status(o) == "error");
  CHECK(o.elapsed < std::chrono::seconds(9));
  // Stopped within its grace period (SIGTERM 1.5 s before the timeout), and it said so.
  CHECK(summary(o).find("did not finish within its timeout of 6s") != std::string::npos);
  CHECK(o.result("verify")["details"]["last_reported_summary"].get<std::string>().find(
            "the check's time was up, and the scratch database was dropped") != std::string::npos);
  CHECK(o.result("verify")["duration_seconds"].get<double>() < 6.0);
  CHECK(server().query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' "
                       "AND pid <> pg_backend_pid()") == "0");
  contained(o, scene, marker, before, std::chrono::seconds(6));
}
