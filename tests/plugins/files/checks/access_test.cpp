#include "fixtures.hpp"

#include "file_facts.hpp"

#include <sys/wait.h>

using namespace files_test;

namespace {
// A temp dir the unprivileged test user can enter (mkdtemp makes it 0700).
struct OpenTempDir : TempDir {
  OpenTempDir() { set_mode(path(), 0755); }
};
backup_doctor::support::UserIds test_user() {
  auto u = backup_doctor::support::lookup_user(kTestUser);
  REQUIRE_MESSAGE(u, "the account backup-doctor-test is missing: run scripts/setup");
  return *u;
}
}  // namespace

TEST_CASE("files.access: really tests as the named user, and explains a denial") {
  REQUIRE(geteuid() == 0);
  OpenTempDir t;
  auto f = t.write("db.sql.gz", "x");
  set_mode(f, 0640);  // root:root, nothing for others
  json p = {{"path", f.string()}, {"user", kTestUser}, {"access", {"read"}}};
  auto r = run("files.access", p);
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "cannot read"));
  CHECK(contains(r.summary, "Permission denied"));
  CHECK(r.details["results"]["read"]["allowed"] == false);
  CHECK(contains(r.remediation, std::string("setfacl -m u:") + kTestUser + ":r " + f.string()));
  // Never advice to join root's group.
  CHECK_FALSE(contains(r.remediation, "usermod"));
  auto nogroup = backup_doctor::files::lookup_group("nogroup");
  REQUIRE(nogroup);
  REQUIRE(::chown(f.c_str(), 0, *nogroup) == 0);
  auto g = run("files.access", p);
  CHECK(contains(g.remediation,
                 std::string("usermod -aG nogroup ") + kTestUser + " && chmod g+r " + f.string()));
  // Root itself would pass: the test is not access(2) as root.
  CHECK(run("files.access", {{"path", f.string()}, {"user", "root"}}).status == Status::ok);

  set_mode(f, 0644);
  auto ok = run("files.access", p);
  CHECK(ok.status == Status::ok);
  CHECK(contains(ok.summary, std::string(kTestUser) + " can read"));
}

TEST_CASE("files.access: names the directory on the way that blocks the user") {
  OpenTempDir t;
  std::filesystem::create_directories(t / "backups/database");
  auto f = t.write("backups/database/latest.sql.gz", "x");
  set_mode(t / "backups", 0700);
  set_mode(t / "backups/database", 0755);
  set_mode(f, 0644);
  auto r = run("files.access", {{"path", f.string()}, {"user", kTestUser}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "cannot enter " + (t / "backups").string()));
  CHECK(r.details["blocked_at"]["path"] == (t / "backups").string());
  CHECK(contains(r.remediation, std::string("setfacl -m u:") + kTestUser + ":x"));
  CHECK(contains(r.remediation, "chmod o+x " + (t / "backups").string()));
  CHECK_FALSE(contains(r.remediation, "chown"));
}

TEST_CASE("files.access: write to a directory needs write and search - owner gets chmod u+") {
  OpenTempDir t;
  auto u = test_user();
  auto dir = t / "files";
  std::filesystem::create_directories(dir);
  REQUIRE(::chown(dir.c_str(), u.uid, u.gid) == 0);
  set_mode(dir, 0500);
  json p = {{"path", dir.string()}, {"user", kTestUser}, {"access", {"read", "write"}}};
  auto r = run("files.access", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["results"]["read"]["allowed"] == true);
  CHECK(r.details["results"]["write"]["allowed"] == false);
  CHECK(contains(r.remediation, "chmod u+wx " + dir.string()));
  set_mode(dir, 0600);  // write without search is still no good for creating files
  auto no_search =
      run("files.access", {{"path", dir.string()}, {"user", kTestUser}, {"access", {"write"}}});
  CHECK(no_search.status == Status::fail);
  set_mode(dir, 0700);
  CHECK(run("files.access", p).status == Status::ok);
  CHECK(std::filesystem::is_empty(dir));  // the test created nothing
}

TEST_CASE("files.access: expect denied catches backups readable by everyone") {
  OpenTempDir t;
  auto f = t.write("customers.sql.gz", "secret rows");
  set_mode(f, 0644);
  json p = {{"path", f.string()}, {"user", kTestUser}, {"access", {"read"}}, {"expect", "denied"}};
  auto r = run("files.access", p);
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "but must not"));
  CHECK(contains(r.remediation, "chmod o-r " + f.string()));
  set_mode(f, 0600);
  CHECK(run("files.access", p).status == Status::ok);
}

TEST_CASE("files.access: execute bit on a backup script, missing path, unknown user") {
  OpenTempDir t;
  auto s = t.write("db_backup.sh", "#!/bin/sh\n");
  set_mode(s, 0644);
  auto r =
      run("files.access", {{"path", s.string()}, {"user", kTestUser}, {"access", {"execute"}}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "cannot execute"));
  set_mode(s, 0755);
  CHECK(run("files.access", {{"path", s.string()}, {"user", kTestUser}, {"access", {"execute"}}})
            .status == Status::ok);

  auto missing = run("files.access", {{"path", (t / "nope").string()}, {"user", kTestUser}});
  CHECK(missing.status == Status::fail);
  CHECK(contains(missing.summary, "does not exist"));

  auto nouser = run("files.access", {{"path", s.string()}, {"user", "no-such-user-bd"}});
  CHECK(nouser.status == Status::fail);
  CHECK(contains(nouser.remediation, "useradd"));
}

TEST_CASE("files.access: without root, testing as another user is an error that says why") {
  OpenTempDir t;
  auto f = t.write("x", "x");
  set_mode(f, 0644);
  auto nobody = backup_doctor::support::lookup_user("nobody");
  REQUIRE(nobody);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (setgid(nobody->gid) != 0 || setuid(nobody->uid) != 0) _exit(10);
    backup_doctor::files::FilesPlugin plugin;
    auto r = backup_doctor::testing::run_check(plugin, "files.access",
                                               {{"path", f.string()}, {"user", kTestUser}});
    bool good = r.status == Status::error && contains(r.summary, "needs root") &&
                contains(r.remediation, "Run backup-doctor as root");
    _exit(good ? 0 : 1);
  }
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}
