// s3.multipart_leftovers: uploads abandoned with the aws CLI (created, a part uploaded, never
// completed) are found with their parts and bytes, and the abort command is exact.
#include "fixtures.hpp"
#include "s3_plugin.hpp"
#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

TEST_CASE("s3.multipart_leftovers: abandoned uploads, parts, bytes and abort commands") {
  auto& m = Moto::get();
  // Set up once; the subcases re-enter the test case and share it (the last one aborts).
  static const auto world = [&m] {
    std::string bucket = m.new_bucket("mpu");
    m.aws({"s3api", "create-bucket", "--bucket", bucket});
    auto up = json::parse(m.aws({"s3api", "create-multipart-upload", "--bucket", bucket, "--key",
                                 "database/large_backup.sql.gz"})
                              .out);
    std::string upload_id = up["UploadId"];
    std::string part = m.make_file("part1.bin", 5 * 1024 * 1024, 3);
    m.aws({"s3api", "upload-part", "--bucket", bucket, "--key", "database/large_backup.sql.gz",
           "--part-number", "1", "--upload-id", upload_id, "--body", part});
    m.aws({"s3api", "create-multipart-upload", "--bucket", bucket, "--key", "files/other.tar.gz"});
    return std::make_pair(bucket, upload_id);
  }();
  const std::string& bucket = world.first;
  const std::string& upload_id = world.second;
  backup_doctor::s3::S3Plugin plugin;

  SUBCASE("older than the threshold: warn with the exact abort command") {
    json p = m.params(bucket);
    p["prefix"] = "database/";
    p["older_than"] = "0s";
    auto r = run_check(plugin, "s3.multipart_leftovers", p);
    CHECK_STATUS(r, warn);
    CHECK(r.details["abandoned"] == 1);  // the prefix excludes files/
    auto u = r.details["uploads"][0];
    CHECK(u["key"] == "database/large_backup.sql.gz");
    CHECK(u["upload_id"] == upload_id);
    CHECK(u["parts"] == 1);
    CHECK(u["bytes"] == 5 * 1024 * 1024);
    std::string cmd = "aws --endpoint-url " + m.endpoint() +
                      " s3api abort-multipart-upload --bucket " + bucket +
                      " --key database/large_backup.sql.gz --upload-id " + upload_id;
    CHECK_MESSAGE(r.remediation.find(cmd) != std::string::npos, r.remediation);
    CHECK(r.remediation.find("AbortIncompleteMultipartUpload") != std::string::npos);
    REQUIRE(r.metrics.size() >= 2);
    CHECK(r.metric("multipart_leftovers")->value == 1);
    CHECK(r.metric("oldest_multipart_upload_timestamp") != nullptr);
    check_no_secret(r);
  }
  SUBCASE("the whole bucket, max_items caps the list but not the count") {
    json p = m.params(bucket);
    p["older_than"] = "0s";
    p["max_items"] = 1;
    auto r = run_check(plugin, "s3.multipart_leftovers", p);
    CHECK_STATUS(r, warn);
    CHECK(r.details["abandoned"] == 2);
    CHECK(r.details["uploads"].size() == 1);
    CHECK(r.remediation.find("1 more") != std::string::npos);
  }
  SUBCASE("after aborting with the suggested command, nothing is left") {
    m.aws({"s3api", "abort-multipart-upload", "--bucket", bucket, "--key",
           "database/large_backup.sql.gz", "--upload-id", upload_id});
    json p = m.params(bucket);
    p["prefix"] = "database/";
    p["older_than"] = "0s";
    auto r = run_check(plugin, "s3.multipart_leftovers", p);
    CHECK_STATUS(r, ok);
  }
}

// moto reports a fixed initiation time (2010-11-10) for every upload, so the age split and the
// pagination of ListMultipartUploads are checked against scripted S3 answers.
TEST_CASE("s3.multipart_leftovers: recent uploads are in progress, every page is read") {
  std::string recent = backup_doctor::sdk::iso_time(backup_doctor::s3::now_epoch() - 60);
  std::string old = backup_doctor::sdk::iso_time(backup_doctor::s3::now_epoch() - 3 * 86400);
  auto upload = [](const std::string& key, const std::string& id, const std::string& when) {
    return "<Upload><Key>" + key + "</Key><UploadId>" + id + "</UploadId><Initiated>" + when +
           "</Initiated><StorageClass>STANDARD</StorageClass></Upload>";
  };
  std::string ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
  ScriptedServer server(
      {{200,
        {},
        "<ListMultipartUploadsResult " + ns +
            "><Bucket>b</Bucket><IsTruncated>true</IsTruncated>"
            "<NextKeyMarker>db/2.gz</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>" +
            upload("db/1.gz", "u1", old) + upload("db/2.gz", "u2", recent) +
            "</ListMultipartUploadsResult>"},
       {200,
        {},
        "<ListMultipartUploadsResult " + ns + "><IsTruncated>false</IsTruncated>" +
            upload("db/3.gz", "u3", recent) + "</ListMultipartUploadsResult>"},
       {200,
        {},
        "<ListPartsResult " + ns +
            "><IsTruncated>false</IsTruncated><Part><PartNumber>1"
            "</PartNumber><Size>8388608</Size></Part><Part><PartNumber>2</PartNumber><Size>"
            "8388608</Size></Part></ListPartsResult>"}});
  backup_doctor::s3::S3Plugin plugin;
  auto r = run_check(plugin, "s3.multipart_leftovers",
                     {{"endpoint", server.endpoint()},
                      {"bucket", "b"},
                      {"access_key_id", kTestKeyId},
                      {"secret_access_key", kTestSecret},
                      {"older_than", "24h"}});
  CHECK_STATUS(r, warn);
  CHECK(r.details["abandoned"] == 1);
  CHECK(r.details["in_progress"] == 2);
  CHECK(r.details["uploads"][0]["upload_id"] == "u1");
  CHECK(r.details["uploads"][0]["bytes"] == 16777216);
  auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].find("key-marker=db%2F2.gz") != std::string::npos);
  CHECK(requests[1].find("upload-id-marker=u2") != std::string::npos);
  CHECK(requests[2].find("uploadId=u1") != std::string::npos);
  check_no_secret(r);
}
