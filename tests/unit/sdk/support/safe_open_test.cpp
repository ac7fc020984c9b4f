// The safe-open primitive, against what a hostile owner of a backup directory can plant: links,
// FIFOs, devices, hard links, directories swapped in.
#include <backup_doctor/support/safe_open.hpp>
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <set>

using namespace backup_doctor;
using support::Expect;
using support::Refusal;

namespace {

uid_t test_uid() {
  struct passwd* pw = getpwnam("backup-doctor-test");
  REQUIRE_MESSAGE(pw != nullptr, "scripts/setup creates the backup-doctor-test account");
  return pw->pw_uid;
}

std::string read_all(int fd) {
  return support::read_up_to(fd, 1 << 20).data;
}

}  // namespace

TEST_CASE("a regular file opens for reading, without a link on the way") {
  test::TempDir dir;
  auto f = dir.write("a/b.txt", "hello");
  auto r = support::open_untrusted(f.string());
  REQUIRE(r);
  CHECK(read_all(r.fd.get()) == "hello");
  CHECK(S_ISREG(r.st.st_mode));
  CHECK((fcntl(r.fd.get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
  CHECK((fcntl(r.fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("the last component is never followed when it is a link") {
  test::TempDir dir;
  REQUIRE(symlink("/etc/shadow", (dir / "db.log").c_str()) == 0);
  auto r = support::open_untrusted((dir / "db.log").string());
  CHECK_FALSE(r);
  CHECK(r.refusal == Refusal::symlink);
  CHECK(r.link_target == "/etc/shadow");
  CHECK(r.message.find("is a symbolic link to /etc/shadow") != std::string::npos);
  CHECK_FALSE(r.fd);

  SUBCASE("Expect::any returns the link itself, to inspect") {
    auto any = support::open_untrusted((dir / "db.log").string(), Expect::any);
    REQUIRE(any);
    CHECK(S_ISLNK(any.st.st_mode));
    CHECK(any.link_target == "/etc/shadow");
  }
}

TEST_CASE("a FIFO or a device is refused without being opened for reading") {
  test::TempDir dir;
  auto fifo = dir / "latest.sql.gz";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  auto started = std::chrono::steady_clock::now();
  auto r = support::open_untrusted(fifo.string());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));  // no hang
  CHECK(r.refusal == Refusal::wrong_type);
  CHECK(r.message.find("FIFO") != std::string::npos);

  auto dev = dir / "dump.sql";
  REQUIRE(mknod(dev.c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0);
  auto d = support::open_untrusted(dev.string());
  CHECK(d.refusal == Refusal::wrong_type);
  CHECK(d.message.find("character device") != std::string::npos);

  auto as_dir = support::open_untrusted(dir.path().string());
  CHECK(as_dir.refusal == Refusal::wrong_type);
  CHECK(support::open_untrusted(dir.path().string(), Expect::directory));
}

TEST_CASE("links earlier in the path are followed only when root made them where only root can") {
  test::TempDir dir;
  dir.write("real/data.txt", "data");
  // A link made by root in a root-owned directory (like /var/run -> /run) is followed.
  REQUIRE(symlink((dir / "real").c_str(), (dir / "alias").c_str()) == 0);
  auto ok = support::open_untrusted((dir / "alias/data.txt").string());
  REQUIRE(ok);
  CHECK(read_all(ok.fd.get()) == "data");

  // The backup account's directory, with its link to a root-only directory.
  auto owned = dir / "backups";
  std::filesystem::create_directory(owned);
  REQUIRE(chown(owned.c_str(), test_uid(), 0) == 0);
  REQUIRE(symlink("/etc", (owned / "database").c_str()) == 0);
  REQUIRE(lchown((owned / "database").c_str(), test_uid(), 0) == 0);
  auto bad = support::open_untrusted((owned / "database/shadow").string());
  CHECK(bad.refusal == Refusal::untrusted_link);
  CHECK(bad.link_target == "/etc");
  CHECK(bad.message.find("backup-doctor-test") != std::string::npos);

  // Even a root-owned link does not help when the directory holding it is the account's.
  REQUIRE(unlink((owned / "database").c_str()) == 0);
  REQUIRE(symlink("/etc", (owned / "database").c_str()) == 0);
  CHECK(support::open_untrusted((owned / "database/shadow").string()).refusal ==
        Refusal::untrusted_link);
}

TEST_CASE("missing paths and bad names") {
  test::TempDir dir;
  CHECK(support::open_untrusted((dir / "nope").string()).refusal == Refusal::missing);
  CHECK(support::open_untrusted((dir / "nope/x").string()).refusal == Refusal::missing);
  CHECK(support::open_untrusted("").refusal == Refusal::missing);
  auto d = support::open_untrusted(dir.path().string(), Expect::directory);
  REQUIRE(d);
  CHECK_FALSE(support::open_untrusted_at(d.fd.get(), dir.path().string(), "../etc"));
  CHECK_FALSE(support::open_untrusted_at(d.fd.get(), dir.path().string(), ".."));
}

TEST_CASE("a hard link to a file its directory's writer cannot read is refused") {
  test::TempDir dir;
  auto owned = dir / "backups";
  std::filesystem::create_directory(owned);
  REQUIRE(chown(owned.c_str(), test_uid(), 0) == 0);
  auto secret = dir.write("root-only.txt", "root secret");
  REQUIRE(chmod(secret.c_str(), 0600) == 0);
  REQUIRE(link(secret.c_str(), (owned / "db.log").c_str()) == 0);
  auto r = support::open_untrusted((owned / "db.log").string());
  CHECK(r.refusal == Refusal::hard_link);
  CHECK(r.message.find("2 hard links") != std::string::npos);

  // Readable by that account anyway: nothing is gained by the link, so it is read.
  REQUIRE(chmod(secret.c_str(), 0644) == 0);
  CHECK(support::open_untrusted((owned / "db.log").string()));
}

TEST_CASE("untrusted_path_reason names who else could change a path") {
  test::TempDir dir;
  auto f = dir.write("conf/checklist.json", "{}");
  CHECK(support::untrusted_path_reason(f.string()) == "");
  REQUIRE(chmod(f.c_str(), 0664) == 0);
  CHECK(support::untrusted_path_reason(f.string()).find("writable by group") != std::string::npos);
  REQUIRE(chmod(f.c_str(), 0644) == 0);
  REQUIRE(chown((dir / "conf").c_str(), test_uid(), 0) == 0);
  CHECK(support::untrusted_path_reason(f.string()).find("backup-doctor-test") != std::string::npos);
  // /tmp is world-writable but sticky: a root-owned entry in it cannot be replaced by others.
  CHECK(support::untrusted_path_reason("/tmp") == "");
  CHECK(support::untrusted_path_reason("/usr/bin/env") == "");
}

TEST_CASE("walk_tree reports links as links and never enters them") {
  test::TempDir dir;
  dir.write("tree/a/one.txt", "1");
  dir.write("tree/two.txt", "22");
  REQUIRE(symlink("/etc", (dir / "tree/etc").c_str()) == 0);
  auto root = support::open_untrusted((dir / "tree").string(), Expect::directory);
  REQUIRE(root);
  std::set<std::string> seen;
  int err = support::walk_tree(root.fd.get(), [&](const support::WalkEntry& e) {
    seen.insert(e.relative + (S_ISLNK(e.st.st_mode) ? "@" : ""));
    return true;
  });
  CHECK(err == 0);
  CHECK(seen == std::set<std::string>{"a", "a/one.txt", "two.txt", "etc@"});
}

TEST_CASE("remove_tree removes a link to elsewhere, not what it points to") {
  test::TempDir dir;
  auto keep = dir.write("outside/keep.txt", "keep");
  dir.write("scratch/sub/file", "x");
  REQUIRE(symlink((dir / "outside").c_str(), (dir / "scratch/sub/link").c_str()) == 0);
  CHECK(support::remove_tree((dir / "scratch").string()) == 0);
  CHECK_FALSE(std::filesystem::exists(dir / "scratch"));
  CHECK(std::filesystem::exists(keep));
}

TEST_CASE("read_up_to stops at its bound and says whether there was more") {
  test::TempDir dir;
  auto f = dir.write("grown.log", std::string(10000, 'x'));
  auto r = support::open_untrusted(f.string());
  REQUIRE(r);
  auto first = support::read_up_to(r.fd.get(), 4096);
  CHECK(first.data.size() == 4096);
  CHECK(first.truncated);
  CHECK(first.error == 0);

  auto whole = support::open_untrusted(f.string());
  auto all = support::read_up_to(whole.fd.get(), 10000);
  CHECK(all.data.size() == 10000);
  CHECK_FALSE(all.truncated);  // exactly the bound: nothing more to read

  auto dir_fd = support::open_untrusted(dir.path().string(), Expect::directory);
  REQUIRE(dir_fd);
  auto failed = support::read_up_to(dir_fd.fd.get(), 16);
  CHECK(failed.error == EISDIR);
  CHECK(failed.data.empty());
}
