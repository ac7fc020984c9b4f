#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <backup_doctor/duration.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

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
    // The copy was uploaded after the original: never behind, and the metric says so unclamped.
    CHECK(r.details["lag_seconds"].get<int64_t>() <= 0);
    CHECK(r.metric("redundancy_lag")->value == r.details["lag_seconds"].get<double>());
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

TEST_CASE("s3.redundancy: the secondary's newest backup is said to be older or newer, in seconds") {
  auto& m = Moto::get();
  // One upload a second: an older backup in the secondary, the primary's newest, then a newer
  // (unrelated) backup in the secondary. The store's timestamps have whole seconds.
  struct W {
    std::string primary, secondary;
  };
  static const W w = [&m] {
    W w{m.new_bucket("lag-primary"), m.new_bucket("lag-secondary")};
    for (const auto& b : {w.primary, w.secondary}) m.aws({"s3api", "create-bucket", "--bucket", b});
    std::string body = m.make_file("lag.bin", 1000, 43);
    auto put = [&](const std::string& bucket, const std::string& key) {
      m.aws({"s3api", "put-object", "--bucket", bucket, "--key", key, "--body", body});
      std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    };
    put(w.secondary, "behind/2024-01-01.sql.gz");
    put(w.primary, "database/2024-01-02.sql.gz");
    put(w.secondary, "ahead/2024-01-03.sql.gz");
    return w;
  }();
  backup_doctor::s3::S3Plugin plugin;
  json p = m.params(w.primary);
  p["prefix"] = "database/";
  using backup_doctor::sdk::format_duration;

  SUBCASE("the secondary's newest is older: its lag, in seconds, is positive") {
    p["secondary"] = {{"bucket", w.secondary}, {"prefix", "behind/"}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, fail);
    int64_t lag = r.details["lag_seconds"].get<int64_t>();
    CHECK(lag >= 1);
    CHECK(r.metric("redundancy_lag")->value == static_cast<double>(lag));
    CHECK(r.remediation.rfind("The second destination did not receive the latest backup (its "
                              "newest is behind/2024-01-01.sql.gz, " +
                                  format_duration(std::chrono::seconds(lag)) + " older). Check",
                              0) == 0);
    CHECK(r.remediation.find("ms older") == std::string::npos);
  }
  SUBCASE("the secondary's newest is newer: said newer, never \"0ms older\"") {
    p["secondary"] = {{"bucket", w.secondary}, {"prefix", "ahead/"}};
    auto r = run_check(plugin, "s3.redundancy", p);
    CHECK_STATUS(r, fail);
    int64_t lag = r.details["lag_seconds"].get<int64_t>();
    CHECK(lag <= -1);
    CHECK(r.metric("redundancy_lag")->value == static_cast<double>(lag));
    CHECK(r.remediation.rfind("The second destination did not receive the latest backup (its "
                              "newest is ahead/2024-01-03.sql.gz, " +
                                  format_duration(std::chrono::seconds(-lag)) + " newer). Check",
                              0) == 0);
    CHECK(r.remediation.find("older") == std::string::npos);
  }
}
