#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

TEST_CASE("s3.freshness: newest backup age against max_age, with its timestamp metric") {
  auto& m = Moto::get();
  static const std::string bucket = [&m] {
    std::string b = m.new_bucket("fresh");
    m.aws({"s3api", "create-bucket", "--bucket", b});
    std::string dir = m.dir() + "/fresh/database";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(m.make_file("f1.bin", 4000, 50), dir + "/a.sql.gz");
    std::filesystem::copy_file(m.make_file("f2.bin", 10, 51), dir + "/b.sql.gz");
    std::filesystem::copy_file(m.make_file("f3.bin", 10, 52), dir + "/notes.txt");
    m.aws({"s3", "sync", m.dir() + "/fresh", "s3://" + b + "/"});
    return b;
  }();
  backup_doctor::s3::S3Plugin plugin;
  json p = m.params(bucket);
  p["prefix"] = "database/";

  SUBCASE("fresh") {
    p["page_size"] = 1;
    auto r = run_check(plugin, "s3.freshness", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["objects_scanned"] == 3);
    auto* ts = r.metric("newest_backup_timestamp");
    REQUIRE(ts != nullptr);
    CHECK(ts->unit == "seconds");
    CHECK(ts->labels["bucket"] == bucket);
    CHECK(std::abs(ts->value - static_cast<double>(std::time(nullptr))) < 120);
    check_no_secret(r);
  }
  SUBCASE("suffix filter and a minimum size") {
    p["suffix"] = ".sql.gz";
    p["min_size"] = "1KiB";
    auto r = run_check(plugin, "s3.freshness", p);
    // a.sql.gz (4000 bytes) and b.sql.gz (10 bytes) are uploaded together; whichever is newest,
    // notes.txt is not considered and a small newest backup warns.
    std::string key = r.details["key"];
    CHECK((key == "database/a.sql.gz" || key == "database/b.sql.gz"));
    if (key == "database/b.sql.gz")
      CHECK_STATUS(r, warn);
    else
      CHECK_STATUS(r, ok);
    p["min_size"] = 5000;
    CHECK_STATUS(run_check(plugin, "s3.freshness", p), warn);
  }
  SUBCASE("stale: older than max_age") {
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    p["max_age"] = "1s";
    auto r = run_check(plugin, "s3.freshness", p);
    CHECK_STATUS(r, fail);
    CHECK(r.summary.find("old (limit 1s)") != std::string::npos);
    CHECK(r.metric("newest_backup_age")->value >= 2);
  }
  SUBCASE("nothing under the prefix") {
    p["prefix"] = "nothing/";
    auto r = run_check(plugin, "s3.freshness", p);
    CHECK_STATUS(r, fail);
    CHECK(r.summary.find("no backup objects") != std::string::npos);
  }
  SUBCASE("unreachable endpoint: error, not a stale verdict") {
    p["endpoint"] = "http://127.0.0.1:" + std::to_string(free_port());
    auto r = run_check(plugin, "s3.freshness", p);
    CHECK_STATUS(r, error);
    CHECK(r.details["category"] == "connect");
  }
}
