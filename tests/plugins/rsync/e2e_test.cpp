// End to end: the backup-doctor binary runs a checklist of rsync checks (plugin loading, schema
// validation, variables, secrets, the forked checks, the JSON report).
#include "fixtures.hpp"

#include <cstdlib>

using nlohmann::json;
using namespace rsync_test;

namespace {

json run_checklist(const fs::path& checklist, const std::map<std::string, std::string>& env,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{BD_TEST_BIN, "run",           checklist.string(), "--format",
                                "json",      "--no-progress", "--fail-on",        "error"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  backup_doctor::support::ProcessOptions o;
  o.env = env;
  o.timeout = std::chrono::seconds(120);
  auto r = backup_doctor::support::run_process(argv, o);
  INFO("stderr: ", r.err);
  REQUIRE(r.started);
  REQUIRE_FALSE(r.timed_out);
  return json::parse(r.out);
}

const json& result(const json& report, const std::string& id) {
  for (const auto& r : report["results"])
    if (r["id"] == id) return r;
  throw std::runtime_error("no result for " + id);
}

}  // namespace

TEST_CASE("e2e: the rsync checks through backup-doctor run") {
  auto& sshd = shared_sshd();
  Sandbox box;
  const UserIds user = test_user();
  fs::path src = box.dir("src");
  box.write("src/page.html", "hello");
  box.write("src/secrets.env", "KEY=1");
  chmod_to(src / "secrets.env", 0600);
  fs::path target = sshd.remote_dir() / "e2e";
  json checklist = {
      {"version", 1},
      {"name", "rsync e2e"},
      {"vars",
       {{"src", src.string() + "/"},
        {"dst", (box.path() / "mnt" / "backup").string() + "/"},
        {"user", user.name},
        {"port", std::to_string(sshd.port())}}},
      {"checks",
       {{{"id", "paths"},
         {"use", "rsync.paths"},
         {"with", {{"source", "${src}"}, {"destination", "${dst}"}, {"backup_user", "${user}"}}}},
        {{"id", "dry-run"},
         {"use", "rsync.dry_run"},
         {"with", {{"source", "${src}"}, {"destination", "${dst}"}, {"run_as", "${user}"}}}},
        {{"id", "open-files"}, {"use", "rsync.open_files"}, {"with", {{"source", "${src}"}}}},
        {{"id", "remote"},
         {"use", "rsync.remote"},
         {"with",
          {{"destination", "backup-doctor-test@127.0.0.1:" + target.string()},
           {"port", "${port}"},
           {"identity_file", sshd.file("user_key").string()},
           {"known_hosts_file", sshd.file("known_hosts").string()},
           {"ssh_config_file", "/dev/null"}}}},
        {{"id", "daemon"},
         {"use", "rsync.dry_run"},
         {"needs", {"remote"}},
         {"with",
          {{"source", "${src}"},
           {"destination", "rsync://127.0.0.1:" + std::to_string(free_port()) + "/backup/"},
           {"daemon_password", {{"secret", {{"env", "BD_RSYNC_E2E_PASSWORD"}}}}}}}}}}};
  fs::path file = box.write("checklist.json", checklist.dump(2));
  json report = run_checklist(file, {{"BD_RSYNC_E2E_PASSWORD", "e2e-daemon-secret"}});
  INFO(report.dump(2));

  const json& paths = result(report, "paths");
  CHECK(paths["status"] == "fail");
  CHECK(paths["summary"].get<std::string>().find("does not exist") != std::string::npos);
  CHECK(paths["remediation"].get<std::string>().find("findmnt") != std::string::npos);

  const json& dry = result(report, "dry-run");
  CHECK(dry["status"] == "fail");
  CHECK(dry["details"]["probe"]["unreadable"]["paths"][0] == (src / "secrets.env").string());
  CHECK(dry["details"]["destination_parent_missing"] == (box.path() / "mnt").string());
  bool has_metric = false;
  for (const auto& m : dry["metrics"])
    if (m["name"] == "transfer_files") has_metric = m["value"] == 2;
  CHECK(has_metric);

  CHECK(result(report, "open-files")["status"] == "ok");
  CHECK(result(report, "remote")["status"] == "warn");  // "e2e" not created yet: rsync would
  CHECK(result(report, "remote")["details"]["remote_path_state"] == "missing_parent_writable");

  const json& daemon = result(report, "daemon");
  CHECK(daemon["status"] == "fail");
  CHECK(daemon["details"]["exit_code"] == 10);
  CHECK(report.dump().find("e2e-daemon-secret") == std::string::npos);
}
