// Attacks on the s3 checks: AWS config files the backup account wrote or can swap (a
// credential_process is a command that would run as root), a program of its own named by
// root's config, a FIFO or a link as a config file, a local "backup" that is a link to root's
// secret (compared against what the account uploaded), and a credential program's output
// echoed in an error.
#include "contained.hpp"

#include "servers.hpp"

#include <sys/stat.h>
#include <fstream>

using namespace backup_doctor;
using namespace backup_doctor::test;
using s3test::Moto;
namespace fs = std::filesystem;

namespace {

// The connection of a check that takes its keys from a profile in the given files.
nlohmann::json profile_check(const std::string& id, const std::string& bucket,
                             const fs::path& config, const fs::path& credentials) {
  return {{"id", id},
          {"use", "s3.auth"},
          {"timeout", "30s"},
          {"with",
           {{"endpoint", Moto::get().endpoint()},
            {"bucket", bucket},
            {"region", "us-east-1"},
            {"profile", "evil"},
            {"config_file", config.string()},
            {"credentials_file", credentials.string()},
            {"timeout", "10s"}}}};
}

std::string summary_of(const Outcome& o, const std::string& id) {
  return o.result(id)["summary"].get<std::string>();
}

}  // namespace

TEST_CASE("a credential_process in a config file the backup account can change never runs") {
  Scene scene;
  const auto& moto = Moto::get();
  std::string bucket = moto.new_bucket("cp");
  moto.aws({"s3", "mb", "s3://" + bucket});
  auto marker = scene.home() / "ran";
  auto payload = scene.plant_payload("bin/creds", marker,
                                     "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAX\", "
                                     "\"SecretAccessKey\": \"x\"}'\n");
  auto theirs =
      scene.plant(".aws/config", "[profile evil]\ncredential_process = " + payload.string() + "\n");
  auto empty = scene.plant(".aws/credentials", "");
  auto in_creds =
      scene.plant(".aws/credentials2", "[evil]\ncredential_process = " + payload.string() + "\n");
  // Root's own file, but in the account's directory: it can be swapped for another.
  auto root_made = scene.home() / "root-made.cfg";
  std::ofstream(root_made) << "[profile evil]\ncredential_process = " << payload.string() << "\n";
  nlohmann::json checks = {
      profile_check("config", bucket, theirs, empty),
      profile_check("credentials", bucket, scene.base() / "conf/none", in_creds),
      profile_check("swappable", bucket, root_made, empty)};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  for (const char* id : {"config", "credentials", "swappable"}) {
    CAPTURE(id);
    CHECK(o.result(id)["status"] == "error");
    CHECK(summary_of(o, id).find("credential_process was not run") != std::string::npos);
    CHECK(summary_of(o, id).find("backup-doctor-test") != std::string::npos);
  }
  check_contained(scene, o, before, {.markers = {marker}});
}

TEST_CASE("root's own config naming the backup account's program does not run it as root") {
  Scene scene;
  const auto& moto = Moto::get();
  std::string bucket = moto.new_bucket("cpr");
  moto.aws({"s3", "mb", "s3://" + bucket});
  auto marker = scene.home() / "ran";
  auto payload = scene.plant_payload("bin/creds", marker);
  auto config = scene.base() / "conf" / "aws-config";
  std::ofstream(config) << "[profile evil]\ncredential_process = " << payload.string() << "\n";
  auto empty = scene.base() / "conf" / "aws-credentials";
  std::ofstream(empty) << "";
  auto before = tree_listing(scene.base());
  auto o =
      run_as_root(scene, nlohmann::json::array({profile_check("program", bucket, config, empty)}));
  CHECK(o.result("program")["status"] == "error");
  CHECK(summary_of(o, "program").find("was not run") != std::string::npos);
  CHECK(summary_of(o, "program").find(payload.string()) != std::string::npos);
  check_contained(scene, o, before, {.markers = {marker}});
}

TEST_CASE("a FIFO or a link as the AWS config file is refused at once") {
  Scene scene;
  const auto& moto = Moto::get();
  std::string bucket = moto.new_bucket("fifo");
  auto fifo = scene.plant_fifo(".aws/config");
  auto link = scene.plant_symlink(".aws/config-link", scene.secret_file().string());
  auto empty = scene.plant(".aws/credentials", "");
  nlohmann::json checks = {profile_check("fifo", bucket, fifo, empty),
                           profile_check("link", bucket, link, empty)};
  checks[0]["timeout"] = "15s";
  checks[1]["timeout"] = "15s";
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  CHECK(o.result("fifo")["status"] == "error");
  CHECK(summary_of(o, "fifo").find("FIFO") != std::string::npos);
  CHECK(o.result("link")["status"] == "error");
  CHECK(summary_of(o, "link").find("symbolic link") != std::string::npos);
  check_contained(scene, o, before, {.within = std::chrono::seconds(10)});
}

TEST_CASE("s3.object_matches never compares root's file, linked as the local backup") {
  Scene scene;
  const auto& moto = Moto::get();
  std::string bucket = moto.new_bucket("om");
  moto.aws({"s3", "mb", "s3://" + bucket});
  // The account uploads its guess of root's file; the link would make the check say "match".
  auto guess = scene.base() / "conf" / "guess";
  fs::copy_file(scene.secret_file(), guess);
  moto.aws({"s3", "cp", guess.string(), "s3://" + bucket + "/db.dump"});
  fs::remove(guess);
  auto link = scene.plant_symlink("db.dump", scene.secret_file().string());
  nlohmann::json with = moto.params(bucket);
  with["key"] = "db.dump";
  with["local_path"] = link.string();
  nlohmann::json checks = {{{"id", "match"}, {"use", "s3.object_matches"}, {"with", with}}};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  CHECK(o.result("match")["status"] == "error");
  CHECK(summary_of(o, "match").find("was not read") != std::string::npos);
  CHECK(o.result("match")["details"].dump().find("local_size") == std::string::npos);
  check_contained(scene, o, before, {.secrets = {s3test::kTestSecret}});
}

TEST_CASE("what a credential_process prints stays secret, also when it fails") {
  Scene scene;
  const auto& moto = Moto::get();
  std::string bucket = moto.new_bucket("cpo");
  const std::string secret = unique_token("ProcSecret");
  auto tool = scene.base() / "conf" / "creds-tool";
  std::ofstream(tool) << "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
                         "\"SecretAccessKey\": \""
                      << secret << "\"}'\necho \"refusing: key " << secret
                      << " has expired\" >&2\nexit 3\n";
  chmod(tool.c_str(), 0755);
  auto config = scene.base() / "conf" / "aws-config";
  std::ofstream(config) << "[profile evil]\ncredential_process = " << tool.string() << "\n";
  auto empty = scene.base() / "conf" / "aws-credentials";
  std::ofstream(empty) << "";
  auto before = tree_listing(scene.base());
  auto o =
      run_as_root(scene, nlohmann::json::array({profile_check("fails", bucket, config, empty)}));
  CHECK(o.result("fails")["status"] == "error");
  CHECK(summary_of(o, "fails").find("exit code 3") != std::string::npos);
  CHECK(summary_of(o, "fails").find("refusing: key") != std::string::npos);
  check_contained(scene, o, before, {.secrets = {secret}});
}
