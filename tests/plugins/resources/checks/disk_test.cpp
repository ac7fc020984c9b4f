#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::metric_with;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;

namespace {
double free_bytes(const std::string& path) {
  struct statvfs v {};
  ::statvfs(path.c_str(), &v);
  return static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize);
}
// A sparse file: its apparent size counts for the next backup, without using the disk.
void sparse(const std::string& path, off_t size, time_t mtime) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, size) == 0);
  ::close(fd);
  struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
  ::utimes(path.c_str(), tv);
}
}  // namespace

TEST_CASE("resources.disk reports free space of the live filesystem with metrics") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.disk",
                     {{"path", t.path().string()},
                      {"warn_free_percent", 0},
                      {"fail_free_percent", 0},
                      {"warn_free_inodes_percent", 0},
                      {"fail_free_inodes_percent", 0}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["free_bytes"].get<double>() > 0);
  CHECK(r.details["free_percent"].get<double>() >= 0);
  CHECK(r.details["free_percent"].get<double>() <= 100);
  REQUIRE(metric_with(r, "disk_free", "bytes") != nullptr);
  CHECK(metric_with(r, "disk_free", "bytes")->labels["path"] == t.path().string());
  CHECK(metric_with(r, "disk_free", "percent") != nullptr);
  CHECK(metric_with(r, "disk_size", "bytes") != nullptr);
}

TEST_CASE("resources.disk percent thresholds on both sides") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  auto warn = run_check(plugin, "resources.disk",
                        {{"path", t.path().string()},
                         {"warn_free_percent", 100},
                         {"fail_free_percent", 0},
                         {"fail_free_inodes_percent", 0},
                         {"warn_free_inodes_percent", 0}});
  CHECK(warn.status == Status::warn);
  CHECK(warn.summary.find("below 100.0%") != std::string::npos);
  CHECK(warn.remediation.find("du -xsh") != std::string::npos);
  auto fail = run_check(plugin, "resources.disk",
                        {{"path", t.path().string()},
                         {"fail_free_percent", 100},
                         {"fail_free_inodes_percent", 0},
                         {"warn_free_inodes_percent", 0}});
  CHECK(fail.status == Status::fail);
}

TEST_CASE("resources.disk min_free in bytes and as a size string") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  nlohmann::json base = {{"path", t.path().string()},
                         {"warn_free_percent", 0},
                         {"fail_free_percent", 0},
                         {"warn_free_inodes_percent", 0},
                         {"fail_free_inodes_percent", 0}};
  auto p = base;
  p["min_free"] = "1K";
  CHECK(run_check(plugin, "resources.disk", p).status == Status::ok);
  p["min_free"] = "1000PiB";
  auto r = run_check(plugin, "resources.disk", p);
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("less than the required") != std::string::npos);
  p["min_free"] = "lots";
  CHECK(run_check(plugin, "resources.disk", p).status == Status::error);
}

TEST_CASE("resources.disk inode thresholds") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  struct statvfs v {};
  REQUIRE(::statvfs(t.path().c_str(), &v) == 0);
  auto r = run_check(plugin, "resources.disk",
                     {{"path", t.path().string()},
                      {"warn_free_percent", 0},
                      {"fail_free_percent", 0},
                      {"warn_free_inodes_percent", 0},
                      {"fail_free_inodes_percent", 100}});
  if (v.f_files > 0) {
    CHECK(r.status == Status::fail);
    CHECK(r.remediation.find("file entries") != std::string::npos);
    CHECK(metric_with(r, "disk_free_inodes", "count") != nullptr);
  } else {
    CHECK(r.status == Status::ok);  // no inode limit on this filesystem (btrfs)
    CHECK(r.details["inodes_total"].is_null());
  }
}

TEST_CASE("resources.disk: room for the next backup from the newest match") {
  backup_doctor::test::TempDir t;
  std::string dir = (t.path() / "database").string();
  std::filesystem::create_directories(dir);
  double avail = free_bytes(dir);
  // The newest backup is small; an older one is huge (it must not count).
  sparse(dir + "/old.sql.gz", static_cast<off_t>(avail * 2), 1000000);
  t.write("database/new.sql.gz", std::string(4096, 'x'));
  ResourcesPlugin plugin;
  nlohmann::json p = {{"path", dir},
                      {"backup_glob", dir + "/*.sql.gz"},
                      {"warn_free_percent", 0},
                      {"fail_free_percent", 0},
                      {"warn_free_inodes_percent", 0},
                      {"fail_free_inodes_percent", 0}};
  auto ok = run_check(plugin, "resources.disk", p);
  CHECK(ok.status == Status::ok);
  CHECK(ok.details["newest_backup"]["path"] == dir + "/new.sql.gz");
  CHECK(ok.details["newest_backup"]["size_bytes"] == 4096);
  CHECK(ok.details["next_backup_estimate_bytes"].get<double>() == doctest::Approx(4096 * 1.2));
  CHECK(ok.details["backups_matched"] == 2);
  CHECK(ok.details["room_for_next_backup"] == true);
  CHECK(metric_with(ok, "next_backup_estimate", "bytes") != nullptr);

  // Now the newest is bigger than the free space: fail, with what to free.
  // 1.5x what was free: free space moves while other tests create and delete files.
  sparse(dir + "/newest.sql.gz", static_cast<off_t>(avail * 1.5), 2000000000);
  auto fail = run_check(plugin, "resources.disk", p);
  CHECK(fail.status == Status::fail);
  CHECK(fail.details["newest_backup"]["path"] == dir + "/newest.sql.gz");
  CHECK(fail.details["room_for_next_backup"] == false);
  CHECK(fail.details["shortfall_bytes"].get<double>() > 0);
  CHECK(fail.summary.find("next backup needs") != std::string::npos);
  CHECK(fail.remediation.find("find " + dir + " -maxdepth 1 -name '*.sql.gz'") !=
        std::string::npos);

  // A bigger growth margin cannot make a tiny backup fail; margin 1 with a huge backup still fails.
  p["growth_margin"] = 1;
  CHECK(run_check(plugin, "resources.disk", p).status == Status::fail);
}

TEST_CASE("resources.disk: a directory backup counts with its content") {
  backup_doctor::test::TempDir t;
  t.write("base/2024-11-29/base.tar", std::string(1000, 'a'));
  t.write("base/2024-11-29/pg_wal.tar", std::string(500, 'b'));
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.disk",
                     {{"path", t.path().string()},
                      {"backup_glob", (t.path() / "base/*").string()},
                      {"warn_free_percent", 0},
                      {"fail_free_percent", 0},
                      {"warn_free_inodes_percent", 0},
                      {"fail_free_inodes_percent", 0}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["newest_backup"]["is_directory"] == true);
  CHECK(r.details["newest_backup"]["size_bytes"] == 1500);
}

TEST_CASE("resources.disk: a glob matching nothing warns, a missing path is an error") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.disk",
                     {{"path", t.path().string()},
                      {"backup_glob", (t.path() / "*.dump").string()},
                      {"warn_free_percent", 0},
                      {"fail_free_percent", 0},
                      {"warn_free_inodes_percent", 0},
                      {"fail_free_inodes_percent", 0}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("no backup matches") != std::string::npos);
  auto missing = run_check(plugin, "resources.disk", {{"path", (t.path() / "nope").string()}});
  CHECK(missing.status == Status::error);
  CHECK(missing.summary.find("No such file") != std::string::npos);
  CHECK_FALSE(missing.remediation.empty());
}
