// Attacks on the archive plugin by the backup account, which owns the backup directories that
// archive.* checks read as root: it plants FIFOs and links where archives and checksum files
// are expected, and links in the trees and paths the checks walk.
#include "attack_checks.hpp"

using namespace backup_doctor;
using namespace backup_doctor::test;

namespace {

// A real gzipped tar of a small tree, made by GNU tar as root, planted by the attacker.
fs::path plant_archive(const Scene& scene, const std::string& rel, int age_seconds) {
  auto work = scene.base() / "work";
  fs::create_directories(work / "app");
  std::ofstream(work / "app" / "index.html") << "<html>bookings</html>\n";
  support::ProcessOptions po;
  po.cwd = work.string();
  auto tar = support::run_process({"tar", "-czf", "out.tar.gz", "app"}, po);
  REQUIRE_MESSAGE(tar.ok(), tar.err);
  std::ifstream in(work / "out.tar.gz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto p = scene.plant(rel, bytes);
  set_age(p, age_seconds);
  return p;
}

}  // namespace

TEST_CASE("verify: a FIFO named like the newest archive neither hangs the check nor is opened") {
  Scene scene;
  plant_archive(scene, "files/backup-1.tar.gz", 7200);
  auto fifo = scene.plant_fifo("files/backup-2.tar.gz");  // newer
  OpenWatch opened;
  opened.watch(fifo);
  Before before(scene);
  auto dir = (scene.home() / "files").string();
  auto o = run_as_root(
      scene,
      {check("named", "archive.verify", {{"path", fifo.string()}}),
       check("newest", "archive.verify", {{"path", dir + "/*.tar.gz"}}),
       check("compare", "archive.compare_source", {{"path", fifo.string()}, {"source", dir}}),
       check("space", "archive.restore_space",
             {{"path", fifo.string()}, {"restore_target", (scene.base() / "restore").string()}})});
  assert_no_harm(scene, o, before);
  CHECK(opened.opens() == 0);
  for (const char* id : {"named", "compare", "space"}) {
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] == "fail");
    CHECK(has(r["summary"], fifo.string()));
    CHECK(has(r["summary"], "FIFO"));
  }
  // The newest regular file is what gets verified; the FIFO is named in the result.
  const auto& r = o.result("newest");
  CHECK(r["details"]["archive"] == (scene.home() / "files/backup-1.tar.gz").string());
  CHECK(r["status"] == "warn");
  CHECK(has(text_of(r), "backup-2.tar.gz"));
  CHECK(has(text_of(r), "FIFO"));
}

TEST_CASE("verify and the other archive checks: a link to a root-only file is not read") {
  Scene scene;
  auto link = scene.plant_symlink("files/backup.tar.gz", scene.secret_file().string());
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto o = run_as_root(scene, {check("verify", "archive.verify", {{"path", link.string()}}),
                               check("compare", "archive.compare_source",
                                     {{"path", link.string()}, {"source", scene.home().string()}}),
                               check("space", "archive.restore_space",
                                     {{"path", link.string()},
                                      {"restore_target", (scene.base() / "restore").string()},
                                      {"size_source", "gzip_trailer"}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  for (const char* id : {"verify", "compare", "space"}) {
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] == "fail");
    CHECK(has(r["summary"], "symbolic link"));
    CHECK(has(r["summary"], scene.secret_file().string()));
    CHECK_FALSE(r["details"].contains("sha256"));
  }
}

TEST_CASE("verify: a link that is the newest match is never chosen; a linked checksum not read") {
  Scene scene;
  auto real = plant_archive(scene, "files/backup-1.tar.gz", 7200);
  scene.plant_symlink("files/backup-1.tar.gz.sha256", scene.secret_file().string());
  scene.plant_symlink("files/backup-2.tar.gz", scene.secret_file().string());
  touch_now(scene.secret_file());  // the link's target is newer than any archive
  OpenWatch secret;
  secret.watch(scene.secret_file());
  Before before(scene);
  auto dir = (scene.home() / "files").string();
  auto o = run_as_root(
      scene, {check("verify", "archive.verify", {{"path", dir}}),
              check("space", "archive.restore_space",
                    {{"path", dir}, {"restore_target", (scene.base() / "restore").string()}})});
  assert_no_harm(scene, o, before);
  CHECK(secret.opens() == 0);
  const auto& r = o.result("verify");
  CHECK(r["details"]["archive"] == real.string());
  CHECK(r["status"] == "fail");  // its checksum file is a link: cannot be compared
  CHECK(has(r["summary"], "backup-1.tar.gz.sha256"));
  CHECK(has(r["summary"], "symbolic link"));
  CHECK(o.result("space")["details"]["archive"] == real.string());
}

TEST_CASE("compare_source: links in the source tree or its path are not followed into root's") {
  Scene scene;
  auto archive = plant_archive(scene, "backup.tar.gz", 3600);
  scene.plant("app/index.html", "<html>bookings</html>\n");
  scene.plant_symlink("app/etc", "/etc");
  scene.plant_symlink("app/secrets", (scene.base() / "root-only").string());
  // A source path through the account's link to root's directory.
  scene.plant_symlink("via", scene.base().string());
  auto payroll = scene.base() / "root-only" / "payroll.tmp";
  std::ofstream(payroll) << "salaries\n";
  set_age(payroll, 86400);
  Before before(scene);
  auto o = run_as_root(
      scene,
      {check("tree", "archive.compare_source",
             {{"path", archive.string()},
              {"source", (scene.home() / "app").string()},
              {"archive_prefix", "app"}}),
       check("path", "archive.compare_source",
             {{"path", archive.string()}, {"source", (scene.home() / "via/root-only").string()}}),
       check("leftovers", "archive.leftovers",
             {{"paths", {(scene.home() / "via/root-only").string()}}, {"min_age", "0s"}})});
  assert_no_harm(scene, o, before);
  const auto& tree = o.result("tree");
  CHECK(tree["details"]["source_files"] == 1);  // index.html; not /etc, not root-only/
  CHECK_FALSE(has(tree.dump(), "shadow"));
  CHECK_FALSE(has(tree.dump(), "passwd"));
  for (const char* id : {"path", "leftovers"}) {
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] != "ok");
    CHECK(has(r["summary"], "symbolic link"));
    CHECK(has(text_of(r), "backup-doctor-test"));
    CHECK_FALSE(has(r.dump(), "shadow"));  // nothing in root's directory is named
    CHECK_FALSE(has(r.dump(), "payroll"));
  }
}

TEST_CASE("verify: an archive in a format libarchive hands to a program starts no program") {
  Scene scene;
  // A decompressor on root's PATH (root's own, trusted directory): libarchive runs `lrzip -d`
  // for an lrzip file, as root, over whatever the backup account wrote.
  auto bin = scene.base() / "rootbin";
  fs::create_directories(bin);
  auto marker = scene.base() / "decompressor-ran";
  std::ofstream(bin / "lrzip") << "#!/bin/sh\nid -u > '" << marker.string() << "'\ncat\n";
  fs::permissions(bin / "lrzip", fs::perms(0755));
  std::string lrz = std::string("LRZI\0\x06", 6) + std::string(4096, 'z');
  auto archive = scene.plant("files/backup.tar.lrz", lrz);
  Before before(scene);
  auto o = run_as_root(scene, {check("verify", "archive.verify", {{"path", archive.string()}})},
                       "/", {{"PATH", bin.string() + ":/usr/bin:/bin"}});
  assert_no_harm(scene, o, before);
  CHECK(marker_owner(marker) == -1);
  CHECK(o.result("verify")["status"] != "ok");
}
