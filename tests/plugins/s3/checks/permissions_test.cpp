// s3.permissions: read-only by default, opt-in write probe that cleans up after itself, and
// denied actions named (moto with IAM authentication on for the denials).
#include "fixtures.hpp"
#include "s3_plugin.hpp"

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

namespace {

json probe(const backup_doctor::testing::Result& r, const std::string& op) {
  for (const auto& p : r.details["probes"])
    if (p["operation"] == op) return p;
  return {};
}

struct World {
  std::string bucket, key_id, secret;
  static const World& get() {
    static const World w = [] {
      auto& m = Moto::get();
      World w;
      w.bucket = m.new_bucket("perm");
      m.aws({"s3api", "create-bucket", "--bucket", w.bucket});
      m.aws({"s3api", "put-object", "--bucket", w.bucket, "--key", "database/db1.sql.gz", "--body",
             m.make_file("perm.bin", 1000, 1)});
      // A read-only identity, for the run with IAM authentication on.
      std::string user = "readonly-" + std::to_string(::getpid());
      m.aws({"iam", "create-user", "--user-name", user});
      m.aws(
          {"iam", "put-user-policy", "--user-name", user, "--policy-name", "ro",
           "--policy-document",
           R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:GetBucketLocation","s3:ListBucketMultipartUploads"],"Resource":"*"}]})"});
      auto key =
          json::parse(m.aws({"iam", "create-access-key", "--user-name", user}).out)["AccessKey"];
      w.key_id = key["AccessKeyId"];
      w.secret = key["SecretAccessKey"];
      return w;
    }();
    return w;
  }
};

}  // namespace

TEST_CASE("s3.permissions: read-only by default, write probe cleans up, denials named") {
  auto& m = Moto::get();
  const auto& w = World::get();
  backup_doctor::s3::S3Plugin plugin;

  SUBCASE("read-only: nothing is written") {
    json p = m.params(w.bucket);
    p["prefix"] = "database/";
    auto r = run_check(plugin, "s3.permissions", p);
    CHECK_STATUS(r, ok);
    CHECK(probe(r, "ListObjectsV2")["result"] == "allowed");
    CHECK(probe(r, "GetBucketLocation")["result"] == "allowed");
    CHECK(probe(r, "HeadObject")["result"] == "allowed");
    CHECK(probe(r, "ListMultipartUploads")["result"] == "allowed");
    CHECK(probe(r, "PutObject").is_null());
    CHECK(r.details["write_probe"] == false);
    auto keys = json::parse(m.aws({"s3api", "list-objects-v2", "--bucket", w.bucket}).out);
    CHECK(keys["Contents"].size() == 1);
    check_no_secret(r);
  }
  SUBCASE("write probe: put, get, delete, multipart create and abort, nothing left") {
    json p = m.params(w.bucket);
    p["write_probe"] = true;
    p["scratch_prefix"] = "scratch/";
    auto r = run_check(plugin, "s3.permissions", p);
    CHECK_STATUS(r, ok);
    for (const char* op : {"PutObject", "GetObject", "DeleteObject", "CreateMultipartUpload",
                           "AbortMultipartUpload"})
      CHECK_MESSAGE(probe(r, op)["result"] == "allowed", op);
    std::string key = r.details["probe_key"];
    CHECK(key.rfind("scratch/backup-doctor-probe-", 0) == 0);
    auto objects = json::parse(
        m.aws({"s3api", "list-objects-v2", "--bucket", w.bucket, "--prefix", "scratch/"}).out);
    CHECK_FALSE(objects.contains("Contents"));
    auto uploads =
        json::parse(m.aws({"s3api", "list-multipart-uploads", "--bucket", w.bucket}).out);
    CHECK_FALSE(uploads.contains("Uploads"));
    check_no_secret(r);
  }
  SUBCASE("a read-only identity is denied the write probe's actions") {
    json p = {{"endpoint", m.endpoint()},  {"bucket", w.bucket},
              {"access_key_id", w.key_id}, {"secret_access_key", w.secret},
              {"write_probe", true},       {"scratch_prefix", "scratch/"}};
    backup_doctor::testing::Result r;
    {
      AuthOn auth;
      r = run_check(plugin, "s3.permissions", p);
    }
    CHECK_STATUS(r, fail);
    INFO(all_output(r));
    CHECK(probe(r, "ListObjectsV2")["result"] == "allowed");
    CHECK(probe(r, "HeadObject")["result"] == "allowed");
    CHECK(probe(r, "PutObject")["result"] == "denied");
    CHECK(probe(r, "CreateMultipartUpload")["result"] == "denied");
    CHECK(probe(r, "DeleteObject")["result"] == "skipped");
    CHECK(r.summary.find("s3:PutObject") != std::string::npos);
    CHECK(r.remediation.find("\"s3:PutObject\"") != std::string::npos);
    CHECK(r.remediation.find("arn:aws:s3:::" + w.bucket + "/*") != std::string::npos);
    check_no_secret(r, w.secret);
  }
}
