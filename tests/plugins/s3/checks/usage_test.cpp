#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <filesystem>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

TEST_CASE("s3.usage: every ListObjectsV2 page counted, against a quota") {
  auto& m = Moto::get();
  static const std::string bucket = [&m] {
    std::string b = m.new_bucket("usage");
    m.aws({"s3api", "create-bucket", "--bucket", b});
    // 4 objects of 1000 bytes under backups/ and one of 5000 under other/ (one sync), then one
    // more under backups/ as STANDARD_IA.
    std::string dir = m.dir() + "/usage";
    std::filesystem::create_directories(dir + "/backups");
    std::filesystem::create_directories(dir + "/other");
    for (int i = 0; i < 4; ++i)
      std::filesystem::copy_file(m.make_file("u" + std::to_string(i) + ".bin", 1000, 20 + i),
                                 dir + "/backups/b" + std::to_string(i) + ".gz");
    std::filesystem::copy_file(m.make_file("u6.bin", 5000, 31), dir + "/other/x");
    m.aws({"s3", "sync", dir, "s3://" + b + "/"});
    m.aws({"s3api", "put-object", "--bucket", b, "--key", "backups/ia.gz", "--body",
           m.make_file("u5.bin", 1000, 30), "--storage-class", "STANDARD_IA"});
    return b;
  }();
  backup_doctor::s3::S3Plugin plugin;
  json p = m.params(bucket);
  p["prefix"] = "backups/";
  p["page_size"] = 2;  // 5 objects: three pages

  SUBCASE("no quota: measured") {
    auto r = run_check(plugin, "s3.usage", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["objects"] == 5);
    CHECK(r.details["bytes"] == 5000);
    CHECK(r.details["by_storage_class"]["STANDARD_IA"]["objects"] == 1);
    CHECK(r.details["largest"].size() == 5);
    CHECK(r.metric("storage_used")->value == 5000);
    CHECK(r.metric("storage_objects")->value == 5);
    check_no_secret(r);
  }
  SUBCASE("below, near and over the quota") {
    p["quota"] = "1MiB";
    CHECK_STATUS(run_check(plugin, "s3.usage", p), ok);
    p["quota"] = 5500;
    auto near = run_check(plugin, "s3.usage", p);
    CHECK_STATUS(near, warn);
    CHECK(near.metric("storage_quota_used")->value == doctest::Approx(5000.0 / 5500));
    p["quota"] = 4000;
    auto over = run_check(plugin, "s3.usage", p);
    CHECK_STATUS(over, fail);
    CHECK(over.remediation.find("lifecycle") != std::string::npos);
  }
  SUBCASE("too many objects") {
    p["max_objects"] = 4;
    CHECK_STATUS(run_check(plugin, "s3.usage", p), fail);
  }
  SUBCASE("the whole bucket") {
    p.erase("prefix");
    auto r = run_check(plugin, "s3.usage", p);
    CHECK(r.details["objects"] == 6);
    CHECK(r.details["bytes"] == 10000);
  }
}
