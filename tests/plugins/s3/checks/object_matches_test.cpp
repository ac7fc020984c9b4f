// s3.object_matches against objects the aws CLI uploaded: single part, multipart with 8 MiB
// parts (profile default) and 16 MiB parts (profile big), plus mismatches.
#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <backup_doctor/system.hpp>

#include <cerrno>
#include <filesystem>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

namespace {

struct World {
  std::string bucket, small, mp8, mp16, same_size_other;
  static const World& get() {
    static const World w = [] {
      auto& m = Moto::get();
      World w;
      w.bucket = m.new_bucket("match");
      m.aws({"s3api", "create-bucket", "--bucket", w.bucket});
      w.small = m.make_file("small.bin", 100 * 1024, 10);
      w.same_size_other = m.make_file("other.bin", 100 * 1024, 13);
      w.mp8 = m.make_file("mp8.bin", 20 * 1024 * 1024, 11);
      w.mp16 = m.make_file("mp16.bin", 20 * 1024 * 1024, 12);
      m.aws({"s3api", "put-object", "--bucket", w.bucket, "--key", "single/db.sql.gz", "--body",
             w.small});
      m.aws({"s3", "cp", w.mp8, "s3://" + w.bucket + "/mp8/db.sql.gz"});
      m.aws({"--profile", "big", "s3", "cp", w.mp16, "s3://" + w.bucket + "/mp16/db.sql.gz"});
      m.aws({"s3api", "put-object", "--bucket", w.bucket, "--key", "ia/db.sql.gz", "--body",
             w.small, "--storage-class", "STANDARD_IA", "--server-side-encryption", "AES256"});
      return w;
    }();
    return w;
  }
};

json params(const std::string& key, const std::string& local) {
  json p = Moto::get().params(World::get().bucket);
  p["key"] = key;
  p["local_path"] = local;
  return p;
}

}  // namespace

TEST_CASE("s3.object_matches: ETags recomputed locally, mismatches, class and encryption") {
  const auto& w = World::get();
  backup_doctor::s3::S3Plugin plugin;
  SUBCASE("single part: ETag is the MD5") {
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", w.small));
    CHECK_STATUS(r, ok);
    CHECK(r.details["etag_check"] == "match (MD5)");
    CHECK(r.details["etag_parts"] == 0);
    CHECK(r.metric("object_size")->value == 100 * 1024);
    check_no_secret(r);
  }
  SUBCASE("aws CLI multipart with 8 MiB parts: part size found") {
    auto r = run_check(plugin, "s3.object_matches", params("mp8/db.sql.gz", w.mp8));
    CHECK_STATUS(r, ok);
    CHECK(r.details["etag_parts"] == 3);
    CHECK(r.details["part_size"] == 8 * 1024 * 1024);
    CHECK(r.details["etag_check"].get<std::string>().find("3 parts of 8 MiB") != std::string::npos);
  }
  SUBCASE("aws CLI multipart with 16 MiB parts, newest object under a prefix") {
    json p = Moto::get().params(w.bucket);
    p["prefix"] = "mp16/";
    p["local_path"] = w.mp16;
    auto r = run_check(plugin, "s3.object_matches", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["key"] == "mp16/db.sql.gz");
    CHECK(r.details["etag_parts"] == 2);
    CHECK(r.details["part_size"] == 16 * 1024 * 1024);
  }
  SUBCASE("explicit part_size") {
    json p = params("mp16/db.sql.gz", w.mp16);
    p["part_size"] = "16MiB";
    auto r = run_check(plugin, "s3.object_matches", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["part_size_source"] == "parameter");
  }
  // Mismatches, storage class and encryption, on the same uploads.
  SUBCASE("same size, other content: ETag mismatch fails") {
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", w.same_size_other));
    CHECK_STATUS(r, fail);
    CHECK(r.details["etag_check"] == "mismatch");
    CHECK(r.summary.find("different content") != std::string::npos);
    CHECK(r.remediation.find("s3 cp " + w.same_size_other) != std::string::npos);
  }
  SUBCASE("multipart object vs another file of the same size") {
    auto r = run_check(plugin, "s3.object_matches", params("mp8/db.sql.gz", w.mp16));
    CHECK_STATUS(r, fail);
    CHECK(r.details["etag_check"] == "mismatch");
  }
  SUBCASE("size differs") {
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", w.mp8));
    CHECK_STATUS(r, fail);
    CHECK(r.summary.find("bytes, the local file") != std::string::npos);
  }
  SUBCASE("storage class and server-side encryption as expected") {
    json p = params("ia/db.sql.gz", w.small);
    p["storage_class"] = "STANDARD_IA";
    p["require_encryption"] = "AES256";
    p["max_age"] = "1h";
    auto r = run_check(plugin, "s3.object_matches", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["storage_class"] == "STANDARD_IA");
    CHECK(r.details["server_side_encryption"] == "AES256");
  }
  SUBCASE("unexpected storage class warns, missing encryption fails") {
    json p = params("ia/db.sql.gz", w.small);
    p["storage_class"] = "GLACIER";
    auto r = run_check(plugin, "s3.object_matches", p);
    CHECK_STATUS(r, warn);
    CHECK(r.summary.find("stored as STANDARD_IA, not GLACIER") != std::string::npos);
    json q = params("single/db.sql.gz", w.small);
    q["require_encryption"] = "any";
    auto e = run_check(plugin, "s3.object_matches", q);
    CHECK_STATUS(e, fail);
    CHECK(e.summary.find("not encrypted at rest") != std::string::npos);
  }
  SUBCASE("missing object") {
    auto r = run_check(plugin, "s3.object_matches", params("nothing/here.gz", w.small));
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "no_such_key");
  }
}

TEST_CASE("s3.object_matches: a local dump that is missing or unreadable is a finding") {
  const auto& w = World::get();
  backup_doctor::s3::S3Plugin plugin;
  SUBCASE("missing local file: fail naming it, nothing compared") {
    std::string missing = Moto::get().dir() + "/no-such-dump.sql.gz";
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", missing));
    CHECK(r.rc == BD_RC_OK);
    CHECK_STATUS(r, fail);
    CHECK(r.summary == "local backup file " + missing + " is missing");
    CHECK(r.remediation == "Nothing was compared with the store: there is no " + missing +
                               ". Check that the backup job's last run wrote its dump there, and "
                               "that `local_path` matches the name it writes (date in the name, "
                               "compression suffix, directory).");
    CHECK(r.details["local_path"] == missing);
    CHECK(r.details["etag_check"] == "not compared");
    CHECK_FALSE(r.details.contains("remote_etag"));
    check_no_secret(r);
  }
  SUBCASE("missing directory: the remediation names the component that is not there") {
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", "/nonexistent/x"));
    CHECK_STATUS(r, fail);
    CHECK(r.summary == "local backup file /nonexistent/x is missing");
    CHECK(r.remediation.rfind("Nothing was compared with the store: there is no /nonexistent/x "
                              "(its directory /nonexistent does not exist). Check",
                              0) == 0);
    CHECK(r.remediation.find("--log-level") == std::string::npos);
  }
  SUBCASE("a path that cannot be opened: fail with the errno text") {
    // A name longer than any file system allows: open() fails with ENAMETOOLONG.
    std::string too_long = Moto::get().dir() + "/" + std::string(300, 'd') + ".sql.gz";
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", too_long));
    CHECK_STATUS(r, fail);
    CHECK(r.summary == "local backup file " + too_long +
                           " is unreadable: " + backup_doctor::sdk::errno_text(ENAMETOOLONG));
    CHECK(r.remediation.rfind("Nothing was compared with the store: " + too_long +
                                  " could not be opened (" +
                                  backup_doctor::sdk::errno_text(ENAMETOOLONG) + ").",
                              0) == 0);
    CHECK(r.details["local_read_error"] == backup_doctor::sdk::errno_text(ENAMETOOLONG));
  }
  SUBCASE("a file that opens but cannot be read back: fail with the errno text") {
    // /proc/self/mem opens as an empty regular file, and reading its first page fails with
    // EIO, as a dump on a failing disk does. Compared with an empty single-part object.
    auto& m = Moto::get();
    std::string empty = m.make_file("empty.bin", 0, 1);
    m.aws(
        {"s3api", "put-object", "--bucket", w.bucket, "--key", "empty/db.sql.gz", "--body", empty});
    auto r = run_check(plugin, "s3.object_matches", params("empty/db.sql.gz", "/proc/self/mem"));
    CHECK_STATUS(r, fail);
    CHECK(r.summary ==
          "local backup file /proc/self/mem is unreadable: " + backup_doctor::sdk::errno_text(EIO));
    CHECK(r.remediation.rfind("Reading /proc/self/mem back failed partway, so it was not "
                              "compared with the object.",
                              0) == 0);
    CHECK(r.details["etag_check"] == "not compared (the local file could not be read)");
  }
  SUBCASE("a link in place of the dump is refused with its own remediation") {
    std::string link = Moto::get().dir() + "/dump-link.sql.gz";
    std::filesystem::remove(link);
    std::filesystem::create_symlink(w.small, link);
    auto r = run_check(plugin, "s3.object_matches", params("single/db.sql.gz", link));
    CHECK_STATUS(r, error);
    CHECK(r.summary.find(link) != std::string::npos);
    CHECK(r.remediation.rfind("Set `local_path` to the backup file itself", 0) == 0);
  }
}
