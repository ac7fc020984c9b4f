#include "fixtures.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;
namespace fs = std::filesystem;

namespace {

void wait_for(PgServer& s, const std::string& sql) {
  for (int i = 0; i < 200; ++i) {
    if (s.query(sql) == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("timed out waiting for: " << sql);
}

// Completes `n` more WAL segments and waits until the archiver has dealt with the last one.
void switch_wal(PgServer& s, int n, const std::string& until) {
  std::string last;
  for (int i = 0; i < n; ++i) {
    s.exec("INSERT INTO wal_filler VALUES (1)");
    last = s.query("SELECT pg_walfile_name(pg_switch_wal())");
  }
  wait_for(s, until + " AND last_archived_wal >= '" + last + "'");
}

// A copy of main()'s archive, to damage.
fs::path copy_archive(const backup_doctor::test::TempDir& tmp) {
  fs::path dst = tmp / "archive";
  fs::copy(wal_archive_dir(), dst);
  return dst;
}

std::vector<std::string> segments(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().size() == 24) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("pg.wal_archiving on a healthy archiver and its archive directory") {
  PgServer& s = main_server();
  switch_wal(s, 4, "SELECT archived_count >= 4 FROM pg_stat_archiver WHERE true");

  SUBCASE("archiving works") {
    auto r = run("pg.wal_archiving", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r.status == Status::ok);
    CHECK(r.details["archive_mode"] == "on");
    CHECK(r.details["pending_segments"] == 0);
    REQUIRE(r.metric("pg_wal_archive_age") != nullptr);
    CHECK(r.metric("pg_wal_archive_age")->value < 60);
    CHECK(r.metric("pg_wal_archive_failures")->value == 0);
  }
  SUBCASE("an old last archive is fine while nothing waits") {
    auto params = s.superuser();
    params["max_age"] = "1ms";
    CHECK(run("pg.wal_archiving", params).status == Status::ok);
  }
  SUBCASE("the archive directory is continuous") {
    auto params = s.superuser();
    params["archive_dir"] = wal_archive_dir().string();
    auto r = run("pg.wal_archiving", params);
    CHECK(r.status == Status::ok);
    CHECK(r.details["archive"]["missing_segments"] == 0);
    CHECK(r.details["archive"]["segments"].get<int>() >= 4);
    CHECK(r.summary.find("has no gap") != std::string::npos);
  }
  SUBCASE("a missing segment is a gap in the recovery window") {
    backup_doctor::test::TempDir tmp("bd-pg-walgap");
    fs::path dir = copy_archive(tmp);
    auto segs = segments(dir);
    REQUIRE(segs.size() >= 4);
    fs::remove(dir / segs[1]);
    auto params = s.superuser();
    params["archive_dir"] = dir.string();
    auto r = run("pg.wal_archiving", params);
    CHECK(r.status == Status::fail);
    CHECK(r.details["archive"]["missing_segments"] == 1);
    CHECK(r.details["archive"]["gaps"][0]["first"] == segs[1]);
    CHECK(r.summary.find(segs[1]) != std::string::npos);
    CHECK(r.metric("pg_wal_archive_missing_segments")->value == 1);
    // A window that starts after the gap is whole.
    params["start_segment"] = segs[2];
    auto after_gap = run("pg.wal_archiving", params);
    INFO(all_text(after_gap));
    CHECK(after_gap.status == Status::ok);
  }
  SUBCASE("an archive directory that lags behind the server") {
    backup_doctor::test::TempDir tmp("bd-pg-wallag");
    fs::path dir = copy_archive(tmp);
    auto segs = segments(dir);
    fs::remove(dir / segs.back());
    auto params = s.superuser();
    params["archive_dir"] = dir.string();
    auto r = run("pg.wal_archiving", params);
    INFO(all_text(r));
    CHECK(r.status == Status::warn);
    CHECK(r.remediation.find("write somewhere else") != std::string::npos);
  }
  SUBCASE("an empty archive directory") {
    backup_doctor::test::TempDir tmp("bd-pg-walempty");
    auto params = s.superuser();
    params["archive_dir"] = tmp.path().string();
    auto r = run("pg.wal_archiving", params);
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("has no WAL segments") != std::string::npos);
  }
}

TEST_CASE("pg.wal_archiving follows an archiver through failure, recovery, a stall and off") {
  PgServer& s = second_server();
  auto params = s.superuser();

  // archive_command = 'false' from the start: failures and no success.
  auto failing = run("pg.wal_archiving", params);
  CHECK(failing.status == Status::fail);
  CHECK(failing.summary.find("WAL archiving is failing") != std::string::npos);
  CHECK(failing.summary.find("never succeeded") != std::string::npos);
  CHECK(failing.remediation.find("sudo -u postgres sh -c false") != std::string::npos);
  CHECK(failing.metric("pg_wal_archive_failures")->value >= 1);
  CHECK(!failing.details.contains("pending_segments"));  // nothing archived yet to count from

  // Fixed: the newest success is now newer than the newest failure.
  s.exec("ALTER SYSTEM SET archive_command = 'cp %p ../wal_archive/%f'");
  s.exec("SELECT pg_reload_conf()");
  wait_for(s, "SELECT last_archived_time > last_failed_time FROM pg_stat_archiver");
  auto recovered = run("pg.wal_archiving", params);
  CHECK(recovered.status == Status::ok);
  CHECK(recovered.details["pending_segments"] == 0);
  CHECK(recovered.summary.find("since recovered") != std::string::npos);

  // Stalled: the command hangs, so completed segments wait and the last success ages.
  s.exec("ALTER SYSTEM SET archive_command = 'sleep 30'");
  s.exec("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 2; ++i) {
    s.exec("INSERT INTO wal_filler VALUES (1)");
    s.exec("SELECT pg_switch_wal()");
  }
  params["max_age"] = "1ms";
  auto stalled = run("pg.wal_archiving", params);
  CHECK(stalled.status == Status::warn);
  // Both segments completed after the stall wait: the one the stuck command holds and the next.
  CHECK(stalled.details["pending_segments"] == 2);
  CHECK(stalled.remediation.find("archive_timeout") != std::string::npos);
  params.erase("max_age");

  // archive_mode on, nothing to archive with.
  s.exec("ALTER SYSTEM SET archive_command = ''");
  s.exec("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto no_command = run("pg.wal_archiving", params);
  CHECK(no_command.status == Status::fail);
  CHECK(no_command.summary.find("neither archive_command nor archive_library") !=
        std::string::npos);

  // archive_mode off needs a restart.
  s.exec("ALTER SYSTEM SET archive_mode = off");
  s.restart();
  auto off = run("pg.wal_archiving", params);
  CHECK(off.status == Status::fail);
  CHECK(off.summary.find("WAL archiving is off") != std::string::npos);
  params["require"] = false;
  CHECK(run("pg.wal_archiving", params).status == Status::ok);
}
