// The s3 checks through the real CLI: plugin loading, schema validation of the parameters used
// here, secrets resolved by the core from the environment, the child process, the JSON report.
#include <backup_doctor/support/process.hpp>
#include "fixtures.hpp"

#include <filesystem>
#include <fstream>

using namespace s3test;
using nlohmann::json;

TEST_CASE("s3 checks end to end through backup-doctor run") {
  auto& m = Moto::get();
  std::string bucket = m.new_bucket("e2e");
  m.aws({"s3api", "create-bucket", "--bucket", bucket});
  std::string local = m.make_file("e2e.bin", 3000, 60);
  m.aws(
      {"s3api", "put-object", "--bucket", bucket, "--key", "database/db.sql.gz", "--body", local});
  m.aws(
      {"s3api", "create-multipart-upload", "--bucket", bucket, "--key", "database/tonight.sql.gz"});

  json conn = {{"endpoint", "${s3_endpoint}"},
               {"bucket", bucket},
               {"access_key_id", "${env:BD_E2E_KEY_ID}"},
               {"secret_access_key", {{"secret", {{"env", "BD_E2E_SECRET"}}}}}};
  auto with = [&](json extra) {
    json w = conn;
    for (auto& [k, v] : extra.items()) w[k] = v;
    return w;
  };
  json checklist = {{"version", 1},
                    {"name", "s3 e2e"},
                    {"vars", {{"s3_endpoint", "http://127.0.0.1:1"}}},
                    {"checks",
                     {{{"id", "reachable"},
                       {"use", "s3.reachable"},
                       {"with", {{"endpoint", "${s3_endpoint}"}, {"bucket", bucket}}}},
                      {{"id", "auth"},
                       {"use", "s3.auth"},
                       {"needs", {"reachable"}},
                       {"with", with({{"sts_endpoint", "${s3_endpoint}"}})}},
                      {{"id", "leftovers"},
                       {"use", "s3.multipart_leftovers"},
                       {"needs", {"auth"}},
                       {"with", with({{"older_than", "0s"}})}},
                      {{"id", "matches"},
                       {"use", "s3.object_matches"},
                       {"needs", {"auth"}},
                       {"with", with({{"prefix", "database/"}, {"local_path", local}})}},
                      {{"id", "freshness"},
                       {"use", "s3.freshness"},
                       {"needs", {"auth"}},
                       {"with", with({{"prefix", "database/"}, {"max_age", "1h"}})}}}}};
  backup_doctor::test::TempDir dir("bd-s3-e2e");
  auto path = dir.write("checklist.json", checklist.dump(2));

  backup_doctor::support::ProcessOptions opt;
  opt.timeout = std::chrono::seconds(120);
  opt.env = {{"BD_E2E_KEY_ID", kTestKeyId}, {"BD_E2E_SECRET", kTestSecret}};
  auto r =
      backup_doctor::support::run_process({BD_TEST_BIN, "run", path.string(), "--format", "json",
                                           "--no-progress", "--var", "s3_endpoint=" + m.endpoint()},
                                          opt);
  INFO("stderr: " << r.err);
  REQUIRE(r.started);
  REQUIRE_FALSE(r.out.empty());
  CHECK(r.out.find(kTestSecret) == std::string::npos);
  CHECK(r.err.find(kTestSecret) == std::string::npos);
  auto report = json::parse(r.out);
  std::map<std::string, json> by_id;
  for (const auto& res : report["results"]) by_id[res["id"]] = res;
  CHECK(by_id["reachable"]["status"] == "ok");
  CHECK(by_id["auth"]["status"] == "ok");
  CHECK(by_id["leftovers"]["status"] == "warn");
  CHECK(by_id["leftovers"]["remediation"].get<std::string>().find("abort-multipart-upload") !=
        std::string::npos);
  CHECK(by_id["matches"]["status"] == "ok");
  CHECK(by_id["freshness"]["status"] == "ok");
  bool has_timestamp = false;
  for (const auto& metric : by_id["freshness"]["metrics"])
    has_timestamp |= metric["name"] == "newest_backup_timestamp";
  CHECK(has_timestamp);
}
