#include "fixtures.hpp"

#include <backup_doctor/system.hpp>

#include <cmath>

using namespace files_test;

namespace {
constexpr double kHour = 3600, kDay = 86400;

// Daily backups of `size` bytes, the newest `newest_age` seconds old, the others a day apart.
void plant(const TempDir& t, const std::string& dir, int count, size_t size, double newest_age) {
  for (int i = 0; i < count; ++i) {
    auto p = t.write(dir + "/trixtech_day" + std::to_string(100 - i) + ".sql.gz",
                     std::string(size + static_cast<size_t>(i), 'x'));
    set_age(p, newest_age + i * kDay);
  }
}
}  // namespace

TEST_CASE("files.freshness: a recent, normal-sized backup is ok and reports its metrics") {
  TempDir t;
  plant(t, "database", 6, 1000, 2 * kHour);
  t.write("database/README", "not a backup");
  json p = {{"path", (t / "database").string()}, {"pattern", "*.sql.gz"}, {"max_age", "25h"}};
  auto r = run("files.freshness", p);
  CHECK(r.status == Status::ok);
  CHECK(contains(r.summary, "trixtech_day100.sql.gz"));
  CHECK(r.details["matched"] == 6);
  CHECK(r.details["previous_compared"] == 5);
  CHECK(r.details["newest"]["size"] == 1000);
  auto ts = r.metric("newest_backup_timestamp");
  REQUIRE(ts);
  CHECK(ts->unit == "seconds");
  CHECK(ts->labels["path"] == (t / "database").string());
  auto age = r.metric("newest_backup_age");
  REQUIRE(age);
  CHECK(std::abs(age->value - 2 * kHour) < 60);
  CHECK(std::abs(ts->value + age->value - backup_doctor::sdk::now_seconds()) < 60);
  CHECK(r.metric("newest_backup_size")->value == 1000);
  CHECK(r.metric("newest_backup_size")->unit == "bytes");
  CHECK(r.metric("backups")->value == 6);
  // Median of 1001..1005 is 1003.
  CHECK(r.metric("newest_backup_size_ratio")->value == doctest::Approx(1000.0 / 1003));
}

TEST_CASE("files.freshness: a stale backup fails with its age and last write time") {
  TempDir t;
  plant(t, "database", 3, 1000, 26 * kHour);
  auto r = run("files.freshness", {{"path", (t / "database").string()}, {"pattern", "*.sql.gz"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "1d 2h old (limit 1d 1h)"));
  CHECK(r.details["stale"] == true);
  CHECK(contains(r.remediation, "since " + r.details["newest"]["mtime"].get<std::string>()));
  CHECK(r.metric("newest_backup_age")->value > 25 * kHour);
  // A longer limit accepts it.
  CHECK(run("files.freshness",
            {{"path", (t / "database").string()}, {"pattern", "*.sql.gz"}, {"max_age", "2d"}})
            .status == Status::ok);
}

TEST_CASE("files.freshness: a truncated newest backup warns - an empty one fails") {
  TempDir t;
  plant(t, "db", 6, 100000, 3 * kDay);
  auto small = t.write("db/trixtech_day101.sql.gz", std::string(2000, 'x'));
  set_age(small, kHour);
  json p = {{"path", (t / "db").string()}, {"pattern", "*.sql.gz"}, {"max_age", "25h"}};
  auto r = run("files.freshness", p);
  CHECK(r.status == Status::warn);
  CHECK(contains(r.summary, "may be truncated"));
  CHECK(r.details["truncated_suspect"] == true);
  CHECK(r.metric("newest_backup_size_ratio")->value < 0.05);
  CHECK(contains(r.remediation, "gzip -t " + small.string()));
  CHECK(contains(r.remediation, (t / "db/trixtech_day100.sql.gz").string()));
  // min_ratio 0 turns the comparison off.
  auto off = p;
  off["min_ratio"] = 0;
  CHECK(run("files.freshness", off).status == Status::ok);

  std::filesystem::resize_file(small, 0);
  set_age(small, kHour);
  auto empty = run("files.freshness", p);
  CHECK(empty.status == Status::fail);
  CHECK(contains(empty.summary, "only 0 bytes"));
}

TEST_CASE("files.freshness: history bounds the median - one backup has nothing to compare") {
  TempDir t;
  auto one = t.write("d/only.tar.gz", std::string(10, 'x'));
  set_age(one, kHour);
  auto r = run("files.freshness", {{"path", (t / "d").string()}, {"pattern", "*.tar.gz"}});
  CHECK(r.status == Status::ok);
  CHECK_FALSE(r.details.contains("size_ratio"));

  // Previous: 1000 (1d), 10 (2d), 10 (3d). With history 1 the median is 1000.
  for (auto [name, size, age] :
       {std::tuple{"a.tar.gz", 1000, 1 * kDay}, std::tuple{"b.tar.gz", 10, 2 * kDay},
        std::tuple{"c.tar.gz", 10, 3 * kDay}}) {
    auto f = t.write(std::string("d/") + name, std::string(static_cast<size_t>(size), 'x'));
    set_age(f, age);
  }
  auto h1 = run("files.freshness",
                {{"path", (t / "d").string()}, {"pattern", "*.tar.gz"}, {"history", 1}});
  CHECK(h1.details["previous_median_size"] == 1000);
  CHECK(h1.status == Status::warn);
  auto h3 = run("files.freshness",
                {{"path", (t / "d").string()}, {"pattern", "*.tar.gz"}, {"history", 3}});
  CHECK(h3.details["previous_median_size"] == 10);
  CHECK(h3.status == Status::ok);
}

TEST_CASE("files.freshness: nothing matching shows what is there - a missing dir fails") {
  TempDir t;
  t.write("files/latest.tgz", "x");
  auto r = run("files.freshness", {{"path", (t / "files").string()}, {"pattern", "*.tar.gz"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "no backup matching '*.tar.gz'"));
  CHECK(r.details["other_entries"][0] == "latest.tgz");
  CHECK(contains(r.remediation, "latest.tgz"));

  auto gone = run("files.freshness", {{"path", (t / "nope").string()}});
  CHECK(gone.status == Status::fail);
  CHECK(contains(gone.summary, "does not exist"));
}

TEST_CASE("files.freshness: exclude, recursive patterns and snapshot directories") {
  TempDir t;
  auto good = t.write("b/2024/db.sql.gz", std::string(100, 'x'));
  set_age(good, 2 * kHour);
  auto partial = t.write("b/2024/db.sql.gz.tmp", "x");
  set_age(partial, 60);
  auto top = t.write("b/db.partial", "x");
  set_age(top, 60);
  json p = {{"path", (t / "b").string()}, {"recursive", true}, {"exclude", {"*.tmp", "*.partial"}}};
  auto r = run("files.freshness", p);
  CHECK(r.status == Status::ok);
  CHECK(r.details["newest"]["path"] == good.string());
  auto rel = run("files.freshness",
                 {{"path", (t / "b").string()}, {"recursive", true}, {"pattern", "2024/*.gz"}});
  CHECK(rel.details["matched"] == 1);

  // Dated snapshot directories: sizes are the totals of their files.
  for (int i = 0; i < 4; ++i) {
    auto dir = t / ("snap/day" + std::to_string(i));
    t.write("snap/day" + std::to_string(i) + "/a", std::string(i == 0 ? 10 : 5000, 'x'));
    t.write("snap/day" + std::to_string(i) + "/sub/b", std::string(i == 0 ? 10 : 5000, 'x'));
    set_age(dir, kHour + i * kDay);
  }
  auto snap = run("files.freshness",
                  {{"path", (t / "snap").string()}, {"entry_type", "dir"}, {"pattern", "day*"}});
  CHECK(snap.status == Status::warn);
  CHECK(snap.details["newest"]["size"] == 20);
  CHECK(snap.details["previous_median_size"] == 10000);
}

TEST_CASE("files.freshness: a modification time in the future warns about the clock") {
  TempDir t;
  auto f = t.write("d/x.gz", "data");
  set_age(f, -2 * kHour);
  auto r = run("files.freshness", {{"path", (t / "d").string()}});
  CHECK(r.status == Status::warn);
  CHECK(contains(r.summary, "in the future"));
}

TEST_CASE("files.freshness: links are never backups; a directory of links says so") {
  TempDir t;
  plant(t, "database", 3, 1000, 3 * kDay);
  auto fresh = t.write("fresh.sql.gz", std::string(1000, 'y'));
  std::filesystem::create_symlink(fresh, t / "database/latest.sql.gz");
  json p = {{"path", (t / "database").string()}, {"pattern", "*.sql.gz"}, {"max_age", "25h"}};
  auto r = run("files.freshness", p);
  CHECK(r.status == Status::fail);  // the newest real dump is 3 days old
  CHECK(contains(r.summary, "trixtech_day100.sql.gz"));
  REQUIRE(r.details["symlinks_not_followed"].size() == 1);
  CHECK(r.details["symlinks_not_followed"][0]["target"] == fresh.string());

  p["pattern"] = "latest*";
  auto only = run("files.freshness", p);
  CHECK(only.status == Status::fail);
  CHECK(contains(only.summary, "1 symbolic link(s) match, not followed"));
  CHECK(contains(only.remediation, "Only symbolic links match"));
}
