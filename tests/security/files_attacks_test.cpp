// Attacks on the files plugin by the backup account, which owns the logs, the backup directories
// and a directory on the job's PATH that files.* checks look at as root: it swaps its files for
// links to root's secrets, FIFOs, devices and hard links, and plants programs where a tool is
// looked up.
#include "attack_checks.hpp"

#include <sys/sysmacros.h>

using namespace backup_doctor;
using namespace backup_doctor::test;

namespace {

// The logs' patterns match the secret's line ("root:..."), so anything read from it would be
// a hit and shown.
const nlohmann::json kPatterns = {"root", "error"};

}  // namespace

TEST_CASE("log_scan: a log replaced by a link to a root-only file is reported, never read") {
  Scene scene;
  scene.plant("log/files_backup.log", "all fine\n");
  auto link = scene.plant_symlink("log/db_backup.log", scene.secret_file().string());
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto o = run_as_root(
      scene, {check("log", "files.log_scan", {{"path", link.string()}, {"patterns", kPatterns}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  const auto& r = o.result("log");
  CHECK(r["status"] != "ok");
  CHECK(has(r["summary"], link.string()));
  CHECK(has(r["summary"], "symbolic link"));
  CHECK(has(r["summary"], scene.secret_file().string()));  // names the target: what to look at
  CHECK(has(r["remediation"], "backup-doctor-test"));
}

TEST_CASE("log_scan: a glob matching a planted link reads the real logs and reports the link") {
  Scene scene;
  scene.plant("log/files_backup.log", "started\nfinished\n");
  scene.plant_symlink("log/db_backup.log", scene.secret_file().string());
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto glob = (scene.home() / "log").string() + "/*.log";
  auto o = run_as_root(scene,
                       {check("log", "files.log_scan", {{"path", glob}, {"patterns", kPatterns}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  const auto& r = o.result("log");
  CHECK(r["status"] != "ok");  // a log that could not be read is not a clean log
  CHECK(has(r["summary"], "db_backup.log"));
  CHECK(has(text_of(r), "symbolic link"));
  bool scanned_real = false;
  for (const auto& f : r["details"]["files"])
    scanned_real |= has(f.value("path", ""), "files_backup.log");
  CHECK(scanned_real);

  // A link to a directory in the middle of the glob is not entered either.
  Scene deep;
  fs::create_directory(deep.base() / "root-only" / "logs");
  std::ofstream(deep.base() / "root-only" / "logs" / "x.log") << deep.secret_token() << " error\n";
  deep.plant_symlink("jobs/evil", (deep.base() / "root-only" / "logs").string());
  deep.plant("jobs/db/x.log", "ok\n");
  Before before_deep(deep);
  auto d = run_as_root(deep, {check("log", "files.log_scan",
                                    {{"path", (deep.home() / "jobs").string() + "/*/x.log"}})});
  assert_no_harm(deep, d, before_deep);
  CHECK(d.result("log")["status"] != "ok");
  CHECK(has(text_of(d.result("log")), "evil"));
}

TEST_CASE("log_scan: a FIFO or a device where the log should be is never opened") {
  Scene scene;
  auto fifo = scene.plant_fifo("log/db_backup.log");
  auto dev = scene.home() / "log" / "tape.log";
  REQUIRE(mknod(dev.c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0);  // what /dev/null is
  REQUIRE(chown(dev.c_str(), attacker().uid, attacker().gid) == 0);
  // The attacker cannot make device nodes, but it can point a link at one.
  scene.plant_symlink("log/zero.log", "/dev/zero");
  OpenWatch opened;
  opened.watch(fifo);
  opened.watch(dev);
  Before before(scene);
  auto o = run_as_root(
      scene, {check("fifo", "files.log_scan", {{"path", fifo.string()}}),
              check("dev", "files.log_scan", {{"path", dev.string()}}),
              check("zero", "files.log_scan", {{"path", (scene.home() / "log/zero.log").string()}}),
              check("glob", "files.log_scan", {{"path", (scene.home() / "log").string() + "/*"}})});
  assert_no_harm(scene, o, before);
  CHECK(opened.opens() == 0);  // not even O_NONBLOCK: opening a FIFO wakes its writer
  CHECK(o.result("fifo")["status"] == "error");
  CHECK(has(o.result("fifo")["summary"], "FIFO"));
  CHECK(o.result("dev")["status"] == "error");
  CHECK(has(o.result("dev")["summary"], "character device"));
  CHECK(o.result("zero")["status"] != "ok");
  CHECK(has(o.result("zero")["summary"], "/dev/zero"));
  CHECK(o.result("glob")["status"] != "ok");
}

TEST_CASE("log_scan: a hard link to a root-only file is refused (as without protected_hardlinks)") {
  Scene scene;
  auto log = scene.home() / "db_backup.log";
  REQUIRE(link(scene.secret_file().c_str(), log.c_str()) == 0);  // root does it for the test
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto o = run_as_root(
      scene, {check("log", "files.log_scan", {{"path", log.string()}, {"patterns", kPatterns}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  CHECK(o.result("log")["status"] == "error");
  CHECK(has(o.result("log")["summary"], "hard link"));
  unlink(log.c_str());
}

TEST_CASE("tools: a program in the backup account's directory is never run as root") {
  Scene scene;
  auto marker = scene.home() / "ran";
  scene.plant_payload("bin/tar", marker, "echo 'tar (GNU tar) 9.99'\n");
  Before before(scene);
  auto path = (scene.home() / "bin").string() + ":/usr/bin:/bin";
  auto o = run_as_root(
      scene, {check("tools", "files.tools", {{"tools", {"tar"}}, {"search_path", path}})});
  assert_no_harm(scene, o, before, marker);
  CHECK(marker_owner(marker) == -1);
  const auto& r = o.result("tools");
  CHECK(r["status"] != "ok");  // its version could not be read
  CHECK(has(r["summary"], (scene.home() / "bin" / "tar").string()));
  CHECK(has(text_of(r), "backup-doctor-test"));
  CHECK(has(r["remediation"], "`user`"));

  // With the job's user, it runs as that user: what the job itself would do.
  Scene as_user;
  auto marker2 = as_user.home() / "ran";
  as_user.plant_payload("bin/tar", marker2, "echo 'tar (GNU tar) 9.99'\n");
  Before before2(as_user);
  auto path2 = (as_user.home() / "bin").string() + ":/usr/bin:/bin";
  auto u = run_as_root(
      as_user,
      {check("tools", "files.tools",
             {{"tools", {"tar"}}, {"search_path", path2}, {"user", "backup-doctor-test"}})});
  // The payload wrote its marker as the job's user: that is the only change.
  CHECK(marker_owner(marker2) == static_cast<long>(attacker().uid));
  before2.home[marker2.string()] = tree_of(as_user.home())[marker2.string()];
  assert_no_harm(as_user, u, before2, marker2);
  CHECK(u.result("tools")["status"] == "ok");
}

TEST_CASE("tools: an empty search_path entry does not mean the working directory") {
  Scene scene;
  auto marker = scene.home() / "ran";
  scene.plant_payload("tar", marker, "echo 'tar (GNU tar) 9.99'\n");
  Before before(scene);
  // Run from the attacker's directory, as a cron job started in its home would.
  auto o = run_as_root(
      scene,
      {check("tools", "files.tools", {{"tools", {"tar"}}, {"search_path", ":/usr/bin:/bin"}})},
      scene.home().string());
  assert_no_harm(scene, o, before, marker);
  CHECK(marker_owner(marker) == -1);
  const auto& r = o.result("tools");
  REQUIRE(r["details"]["tools"].size() == 1);
  CHECK(r["details"]["tools"][0]["path"] != "./tar");
  CHECK(has(r["details"]["tools"][0].value("path", ""), "/bin/tar"));
  CHECK(r["status"] == "warn");  // the job's own PATH would search its working directory
  CHECK(has(text_of(r), "empty entry"));
}

TEST_CASE("freshness, exists and mode: a link to a fresh root file does not make backups fresh") {
  Scene scene;
  auto old = scene.plant("db/backup-old.tar.gz", std::string(4096, 'x'));
  set_age(old, 3 * 86400);
  auto link = scene.plant_symlink("db/newest.tar.gz", scene.secret_file().string());
  touch_now(scene.secret_file());
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto dir = (scene.home() / "db").string();
  auto o = run_as_root(
      scene,
      {check("fresh", "files.freshness", {{"path", dir}, {"pattern", "*.tar.gz"}}),
       check("fresh_r", "files.freshness",
             {{"path", (scene.home()).string()}, {"pattern", "*.tar.gz"}, {"recursive", true}}),
       check("exists", "files.exists", {{"path", link.string()}, {"type", "file"}}),
       check("mode", "files.mode", {{"path", link.string()}, {"max_mode", "0640"}}),
       check("access", "files.access",
             {{"path", link.string()}, {"user", "nobody"}, {"expect", "denied"}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  for (const char* id : {"fresh", "fresh_r"}) {
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] == "fail");
    CHECK(has(r["summary"], "backup-old.tar.gz"));
    CHECK(has(r["summary"], "old"));
  }
  CHECK(o.result("exists")["status"] == "fail");
  CHECK(has(o.result("exists")["summary"], "symbolic link"));
  CHECK(o.result("mode")["status"] == "fail");
  CHECK(has(o.result("mode")["summary"], "symbolic link"));
  // Root's file behind the link is not described: not its size, mode or owner.
  for (const char* id : {"exists", "mode", "access"}) {
    CAPTURE(id);
    CHECK(o.result(id)["details"].value("type", "symlink") == "symlink");
  }
}

TEST_CASE("exists and mode: a directory reached through the account's link is not listed") {
  Scene scene;
  auto link = scene.plant_symlink("data", (scene.base() / "root-only").string());
  Before before(scene);
  auto o = run_as_root(
      scene, {check("exists", "files.exists",
                    {{"path", link.string() + "/"}, {"type", "dir"}, {"non_empty", true}}),
              check("mode", "files.mode",
                    {{"path", link.string() + "/."}, {"max_mode", "0755"}, {"recursive", true}})});
  assert_no_harm(scene, o, before);
  for (const char* id : {"exists", "mode"}) {
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] != "ok");
    CHECK(has(r["summary"], "symbolic link"));
    CHECK_FALSE(r["details"].contains("entries"));
    CHECK_FALSE(has(r.dump(), "shadow"));  // the root-only directory's entries are not named
  }
}
