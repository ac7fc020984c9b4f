#include "fixtures.hpp"

#include <cstdlib>

using namespace files_test;

namespace {
// Runs the remediation's commands (they only touch paths inside the temp dir).
void apply(const backup_doctor::testing::Result& r) {
  for (const auto& cmd : r.details["remediation_commands"]) {
    std::string c = cmd.get<std::string>();
    INFO(c);
    REQUIRE(std::system(c.c_str()) == 0);
  }
}
}  // namespace

TEST_CASE("files.mode: exact mode, and the chmod that fixes it") {
  TempDir t;
  auto dir = t / "database";
  std::filesystem::create_directories(dir);
  set_mode(dir, 0755);
  auto r = run("files.mode", {{"path", dir.string()}, {"mode", "0700"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "mode is 0755, expected 0700"));
  CHECK(contains(r.remediation, "chmod 0700 " + dir.string()));
  CHECK(r.metric("mode_violations")->value == 1);
  apply(r);
  auto fixed = run("files.mode", {{"path", dir.string()}, {"mode", "700"}});
  CHECK(fixed.status == Status::ok);
  CHECK(fixed.details["mode"] == "0700");
}

TEST_CASE("files.mode: max_mode removes only the excess bits") {
  TempDir t;
  auto f = t.write("db.sql.gz", "x");
  set_mode(f, 0666);
  auto r = run("files.mode", {{"path", f.string()}, {"max_mode", "0640"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "g+w,o+rw"));
  CHECK(contains(r.remediation, "chmod 0640"));
  set_mode(f, 0600);
  CHECK(run("files.mode", {{"path", f.string()}, {"max_mode", "0640"}}).status == Status::ok);

  // A directory may be searchable wherever max_mode lets it be read.
  auto dir = t / "database";
  std::filesystem::create_directories(dir);
  set_mode(dir, 0750);
  CHECK(run("files.mode", {{"path", dir.string()}, {"max_mode", "0640"}}).status == Status::ok);
  set_mode(dir, 0755);
  auto d = run("files.mode", {{"path", dir.string()}, {"max_mode", "0640"}});
  CHECK(d.status == Status::fail);
  CHECK(contains(d.remediation, "chmod 0750 " + dir.string()));
}

TEST_CASE("files.mode: a backup script must be executable with a working #! line") {
  TempDir t;
  auto script = t.write("db_backup.sh", "#!/bin/sh\necho ok\n");
  set_mode(script, 0640);
  auto r = run("files.mode", {{"path", script.string()}, {"executable", true}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "not executable"));
  CHECK(contains(r.remediation, "chmod 0750 " + script.string()));
  apply(r);
  CHECK(run("files.mode", {{"path", script.string()}, {"executable", true}}).status == Status::ok);

  auto crlf = t.write("crlf.sh", "#!/bin/sh\r\necho ok\r\n");
  set_mode(crlf, 0755);
  auto c = run("files.mode", {{"path", crlf.string()}, {"executable", true}});
  CHECK(c.status == Status::fail);
  CHECK(contains(c.summary, "Windows line ending"));
  CHECK(contains(c.remediation, "sed -i"));

  auto bad = t.write("bad.sh", "#!/usr/bin/no-such-shell\necho\n");
  set_mode(bad, 0755);
  auto b = run("files.mode", {{"path", bad.string()}, {"executable", true}});
  CHECK(b.status == Status::fail);
  CHECK(contains(b.summary, "/usr/bin/no-such-shell"));

  auto viaenv = t.write("env.sh", "#!/usr/bin/env no-such-interpreter-xyz\n");
  set_mode(viaenv, 0755);
  auto e = run("files.mode", {{"path", viaenv.string()}, {"executable", true}});
  CHECK(e.status == Status::fail);
  CHECK(contains(e.summary, "no-such-interpreter-xyz"));

  auto d = run("files.mode", {{"path", t.path().string()}, {"executable", true}});
  CHECK(d.status == Status::fail);
  CHECK(contains(d.summary, "not a runnable file"));
}

TEST_CASE("files.mode: owner and group, with the chown that fixes them") {
  TempDir t;
  auto f = t.write("latest.tar.gz", "x");
  auto user = backup_doctor::support::lookup_user(kTestUser);
  REQUIRE(user);
  REQUIRE(::chown(f.c_str(), user->uid, user->gid) == 0);
  auto r = run("files.mode", {{"path", f.string()}, {"owner", "root"}, {"group", "root"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, std::string("owner is ") + kTestUser + ", expected root"));
  CHECK(contains(r.remediation, "chown root:root " + f.string()));
  apply(r);
  CHECK(run("files.mode", {{"path", f.string()}, {"owner", "0"}, {"group", "0"}}).status ==
        Status::ok);

  auto missing = run("files.mode", {{"path", f.string()}, {"owner", "no-such-user-bd"}});
  CHECK(missing.status == Status::fail);
  CHECK(contains(missing.remediation, "useradd --system"));
  CHECK(contains(missing.remediation, "chown no-such-user-bd"));
}

TEST_CASE("files.mode: recursive finds too-open entries and gives find commands that fix them") {
  TempDir t;
  auto root = t / "backups";
  std::filesystem::create_directories(root / "database/old");
  set_mode(root, 0750);
  set_mode(root / "database", 0755);
  set_mode(root / "database/old", 0750);
  auto f1 = t.write("backups/database/a.sql.gz", "x");
  auto f2 = t.write("backups/database/old/b.sql.gz", "x");
  auto f3 = t.write("backups/database/ok.sql.gz", "x");
  set_mode(f1, 0644);
  set_mode(f2, 0666);
  set_mode(f3, 0640);
  json p = {{"path", root.string()}, {"max_mode", "0750"}, {"recursive", true}, {"max_items", 2}};
  auto r = run("files.mode", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["violations_beneath"] == 3);  // database/, a.sql.gz, b.sql.gz
  CHECK(r.details["violating_entries"].size() == 2);
  CHECK(r.metric("mode_violations")->value == 3);
  CHECK(contains(r.remediation, "-type f -perm /0026 -exec chmod g-w,o-rw {} +"));
  CHECK(contains(r.remediation, "-type d -perm /0005 -exec chmod o-rx {} +"));
  apply(r);
  auto fixed = run("files.mode", p);
  CHECK(fixed.status == Status::ok);
  CHECK(std::filesystem::exists(f1));  // never deletes anything
}

TEST_CASE("files.mode: contradictory or empty parameters are errors") {
  backup_doctor::files::FilesPlugin plugin;
  auto r = backup_doctor::testing::run_check(
      plugin, "files.mode", {{"path", "/tmp"}, {"mode", "0644"}, {"executable", true}});
  CHECK(r.rc == BD_RC_ERROR);
  auto none = backup_doctor::testing::run_check(plugin, "files.mode", {{"path", "/tmp"}});
  CHECK(none.rc == BD_RC_ERROR);
  CHECK(contains(none.error, "nothing to check"));
  auto bad =
      backup_doctor::testing::run_check(plugin, "files.mode", {{"path", "/tmp"}, {"mode", "0999"}});
  CHECK(bad.rc == BD_RC_ERROR);
  auto missing = run("files.mode", {{"path", "/nonexistent-bd/x"}, {"mode", "0700"}});
  CHECK(missing.status == Status::fail);
}
