#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <filesystem>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

TEST_CASE("s3.redundancy: the newest backup in primary and secondary buckets") {
  auto& m = Moto::get();
  struct W {
    std::string primary, secondary;
  };
  // Two buckets, each filled by one `aws s3 sync`: the primary holds tonight's backup; the
  // secondary holds a good copy under copies/, only an older one under partial/, and a copy of
  // another size under differs/.
  static const W w = [&m] {
    W w{m.new_bucket("primary"), m.new_bucket("secondary")};
    for (const auto& b : {w.primary, w.secondary}) m.aws({"s3api", "create-bucket", "--bucket", b});
    namespace fs = std::filesystem;
    std::string p = m.dir() + "/redundancy-primary", s = m.dir() + "/redundancy-secondary";
    for (const char* d : {"/database", "/copies", "/partial", "/differs"}) {
      fs::create_directories(p + d);
      fs::create_directories(s + d);
    }
    std::string dump = m.make_file("r-new.bin", 3000, 41);
    fs::copy_file(dump, p + "/database/2024-01-02.sql.gz");
    fs::copy_file(dump, s + "/copies/2024-01-02.sql.gz");
    fs::copy_file(m.make_file("r-old.bin", 2000, 40), s + "/partial/2024-01-01.sql.gz");
    fs::copy_file(m.make_file("r-other.bin", 3100, 42), s + "/differs/2024-01-02.sql.gz");
    m.aws({"s3", "sync", p, "s3://" + w.primary + "/"});
    m.aws({"s3", "sync", s, "s3://" + w.secondary + "/"});
    return w;
  }();
  backup_doctor::s3::S3Plugin plugin;
  json p = m.params(w.primary);
  p["prefix"] = "database/";

  SUBCASE("present in both, same size and ETag (other prefix in the secondary)") {
    p["secondary"] = {{"bucket", w.secondary}, {"prefix", "copies/"}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["etag_check"] == "same ETag");
    CHECK(r.details["secondary"]["key"] == "copies/2024-01-02.sql.gz");
    CHECK(r.metric("redundancy_lag")->value == 0);
    check_no_secret(r);
  }
  SUBCASE("missing from the secondary: fail with the copy command") {
    p["secondary"] = {{"bucket", w.secondary}, {"prefix", "partial/"}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, fail);
    CHECK(r.summary.find("missing from s3://" + w.secondary + "/partial/2024-01-02.sql.gz") !=
          std::string::npos);
    CHECK(r.remediation.find("s3 cp s3://" + w.primary + "/database/2024-01-02.sql.gz") !=
          std::string::npos);
    CHECK(r.details["secondary"]["newest_key"] == "partial/2024-01-01.sql.gz");
  }
  SUBCASE("different size in the secondary") {
    p["secondary"] = {{"bucket", w.secondary}, {"prefix", "differs/"}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, fail);
    CHECK(r.summary.find("3100 bytes") != std::string::npos);
  }
  SUBCASE("secondary bucket does not exist") {
    p["secondary"] = {{"bucket", "no-such-" + w.secondary}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "no_such_bucket");
    CHECK(r.summary.rfind("secondary location:", 0) == 0);
  }
}
