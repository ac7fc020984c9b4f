// Attacks on the rsync checks by the backup account: the job options it wrote (remote options
// that write, remote shells that run its code), links in its directories to root's files, an
// rsync or ssh configuration of its own, and the daemon password on its way to rsync.
#include "contained.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <sstream>

using namespace backup_doctor;
using namespace backup_doctor::test;
namespace fs = std::filesystem;

namespace {

// The backup account's job: a source tree and a destination in its own directory.
void plant_job(const Scene& scene) {
  scene.plant("src/a.txt", "alpha\n");
  scene.plant("src/sub/b.txt", "beta\n");
  scene.plant("dst/.keep", "");
}

nlohmann::json dry_run(const std::string& id, const Scene& scene, const nlohmann::json& args,
                       nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json with = {{"source", (scene.home() / "src").string() + "/"},
                         {"destination", (scene.home() / "dst").string() + "/"},
                         {"args", args},
                         {"timeout", "30s"}};
  with.update(extra);
  return {{"id", id}, {"use", "rsync.dry_run"}, {"timeout", "60s"}, {"with", with}};
}

std::string status_of(const Outcome& o, const std::string& id) {
  return o.result(id)["status"].get<std::string>();
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A root process holding `file` open for writing, with `tag` in its command line.
pid_t hold_open_as_root(const fs::path& file, const std::string& tag) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exec 3>>\"$0\"; while :; do sleep 1; done", file.c_str(),
          tag.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  usleep(200 * 1000);
  return pid;
}

void stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("a dry run writes no log or batch file, also not through remote options (-M)") {
  Scene scene;
  plant_job(scene);
  const fs::path h = scene.home();
  std::vector<std::pair<std::vector<std::string>, fs::path>> variants = {
      {{"-a", "-M--log-file=" + (h / "m1").string()}, h / "m1"},
      {{"-a", "-M=--log-file=" + (h / "m2").string()}, h / "m2"},
      {{"-a", "--remote-option=--log-file=" + (h / "m3").string()}, h / "m3"},
      {{"-a", "--remote-option", "--log-file=" + (h / "m4").string()}, h / "m4"},
      {{"-a", "--log-file", (h / "m5").string()}, h / "m5"},
      {{"-a", "--log-file=" + (h / "m6").string()}, h / "m6"},
      {{"-a", "-M--write-batch=" + (h / "m7").string()}, h / "m7"},
      {{"-a", "--only-write-batch=" + (h / "m8").string()}, h / "m8"},
      {{"-avM--log-file=" + (h / "m9").string()}, h / "m9"},
  };
  nlohmann::json checks = nlohmann::json::array();
  Expectations e;
  for (size_t i = 0; i < variants.size(); ++i) {
    checks.push_back(dry_run("dry" + std::to_string(i), scene, variants[i].first));
    e.markers.push_back(variants[i].second);
  }
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  for (size_t i = 0; i < variants.size(); ++i) {
    std::string id = "dry" + std::to_string(i);
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(status_of(o, id) == "ok");
    REQUIRE(r["details"].contains("ignored_args"));
    CHECK_FALSE(r["details"]["ignored_args"].empty());
  }
  check_contained(scene, o, before, e);
}

TEST_CASE("a remote shell that is not plain ssh never runs, as root or as the job's account") {
  Scene scene;
  plant_job(scene);
  const fs::path h = scene.home();
  auto m = [&](int i) { return h / ("ran" + std::to_string(i)); };
  auto config =
      scene.plant("ssh_config", "Host *\n  ProxyCommand sh -c 'id -u > " + m(6).string() + "'\n");
  std::string remote = "backup-doctor-test@127.0.0.1:" + (h / "remote").string() + "/";
  std::vector<std::pair<nlohmann::json, nlohmann::json>> variants = {
      {{"-a", "-e", "sh -c 'id -u > " + m(1).string() + "; exit 1'"}, {}},
      {{"-a", "--rsh=sh -c 'id -u > " + m(2).string() + "'"}, {}},
      {{"-a", "-esh -c 'id -u > " + m(3).string() + "'"}, {}},
      {{"-a", "-e", "ssh -o 'ProxyCommand=sh -c \"id -u > " + m(4).string() + "\"'"}, {}},
      {{"-a", "-e", "ssh -oPermitLocalCommand=yes '-oLocalCommand=id -u > " + m(5).string() + "'"},
       {}},
      {{"-a", "-e", "ssh -F " + config.string()}, {}},
      {{"-a", "-e", "sh -c 'id -u > " + m(7).string() + "'"}, {{"run_as", "backup-doctor-test"}}},
      {{"-a", "-e", "ssh -E " + m(8).string()}, {}},
      {{"-a", "-e", "ssh", "--rsync-path=id -u > /tmp/x; rsync"}, {}},
  };
  nlohmann::json checks = nlohmann::json::array();
  Expectations e;
  for (size_t i = 0; i < variants.size(); ++i) {
    nlohmann::json extra = variants[i].second;
    extra["destination"] = remote;
    checks.push_back(dry_run("rsh" + std::to_string(i), scene, variants[i].first, extra));
  }
  for (int i = 1; i <= 8; ++i) e.markers.push_back(m(i));
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  for (size_t i = 0; i < variants.size(); ++i) {
    std::string id = "rsh" + std::to_string(i);
    CAPTURE(id);
    const auto& r = o.result(id);
    CHECK(r["status"] == "error");
    CHECK(r["summary"].get<std::string>().find("does not accept") != std::string::npos);
    CHECK_FALSE(r["remediation"].get<std::string>().empty());
  }
  check_contained(scene, o, before, e);
}

TEST_CASE("links the backup account plants to root's files are not listed or read as root") {
  Scene scene;
  plant_job(scene);
  const std::string root_only = (scene.base() / "root-only").string();
  scene.plant_symlink("link-src", root_only);
  scene.plant_symlink("link-dst", root_only);
  scene.plant_symlink("src/evil", root_only);
  scene.plant_symlink("list", scene.secret_file().string());
  scene.plant_symlink("src/.rsync-filter", scene.secret_file().string());
  const fs::path h = scene.home();
  nlohmann::json checks = {
      dry_run("source", scene, {"-a"}, {{"source", (h / "link-src").string() + "/"}}),
      dry_run("copy_links", scene, {"-a", "-L"}),
      dry_run("keep_dirlinks", scene, {"-aK", "--delete"}),
      dry_run("destination", scene, {"-a", "--delete"},
              {{"destination", (h / "link-dst").string() + "/"}}),
      dry_run("files_from", scene, {"-a", "--files-from=" + (h / "list").string()}),
      dry_run("exclude_from", scene, {"-a", "--exclude-from", (h / "list").string()}),
      dry_run("merge", scene, {"-a", "--filter=merge " + (h / "list").string()}),
      dry_run("dir_merge", scene, {"-aF"}),
      dry_run("link_dest", scene, {"-a", "--link-dest=" + (h / "link-dst").string()}),
      dry_run("remote_files_from", scene, {"-a", "-M--files-from=" + (h / "list").string()}),
  };
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  for (const auto& c : checks) {
    std::string id = c["id"];
    CAPTURE(id);
    CHECK(status_of(o, id) == "error");
    CHECK(o.result(id)["details"].contains("refused"));
  }
  // Not even the name of the file in root's directory.
  CHECK(o.everything.find("shadow") == std::string::npos);
  check_contained(scene, o, before, {});
}

TEST_CASE("the same links are fine when the dry run acts as the job's account") {
  Scene scene;
  plant_job(scene);
  scene.plant_symlink("src/evil", (scene.base() / "root-only").string());
  nlohmann::json checks = {
      dry_run("as_account", scene, {"-a", "-L"}, {{"run_as", "backup-doctor-test"}}),
      dry_run("link_as_link", scene, {"-a"})};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  // As the account, rsync itself is refused entry to root's directory (code 23), and says so.
  CHECK(o.result("as_account")["details"]["exit_code"] == 23);
  // As root without -L, the link is sent as a link.
  CHECK(status_of(o, "link_as_link") == "ok");
  CHECK(o.everything.find("shadow") == std::string::npos);
  check_contained(scene, o, before, {});
}

TEST_CASE("an rsync program the backup account can change never runs as root") {
  Scene scene;
  plant_job(scene);
  auto marker_root = scene.home() / "as-root";
  auto marker_user = scene.home() / "as-user";
  auto fake_root = scene.plant_payload("bin/rsync", marker_root);
  auto fake_user = scene.plant_payload("bin2/rsync", marker_user);
  nlohmann::json checks = {
      dry_run("root", scene, {"-a"}, {{"rsync", fake_root.string()}}),
      dry_run("user", scene, {"-a"},
              {{"rsync", fake_user.string()}, {"run_as", "backup-doctor-test"}})};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  CHECK(status_of(o, "root") == "error");
  CHECK(o.result("root")["summary"].get<std::string>().find("Refused to run") != std::string::npos);
  CHECK(o.result("root")["remediation"].get<std::string>().find("run_as") != std::string::npos);
  CHECK(marker_owner(marker_root) == -1);
  // As the job's own account it may run its own program: it gets that account's rights only.
  CHECK(marker_owner(marker_user) == static_cast<long>(attacker().uid));
  check_contained(scene, o, before,
                  {.markers = {marker_root, marker_user}, .markers_absent = false});
}

TEST_CASE("the daemon password reaches rsync in a private file, never in its environment or argv") {
  Scene scene;
  plant_job(scene);
  const std::string password = unique_token("DaemonPass-");
  auto dump = scene.home() / "seen";
  auto fake = scene.plant("bin/rsync",
                          "#!/bin/sh\n{ tr '\\0' '\\n' < /proc/$$/environ; echo \"ARGS: $*\"; "
                          "for a; do case $a in --password-file=*) echo \"MODE: $(stat -c '%a %U' "
                          "\"${a#--password-file=}\")\";; esac; done; } > '" +
                              dump.string() + "'\n",
                          0755);
  // json::array: with one element, clang takes a braced list for a copy of the element.
  auto checks = nlohmann::json::array(
      {dry_run("daemon", scene, {"-a"},
               {{"rsync", fake.string()},
                {"run_as", "backup-doctor-test"},
                {"destination", "rsync://127.0.0.1:1/module/"},
                {"daemon_password", {{"secret", {{"env", "BD_DAEMON_PW"}}}}}})});
  auto file = scene.checklist(checks);
  auto o = run_bd({"run", file.string(), "--format", "json"}, {{"BD_DAEMON_PW", password}});
  std::string seen = read_text(dump);
  INFO(seen);
  INFO((o.out + o.err));
  REQUIRE(seen.find("ARGS: ") != std::string::npos);
  CHECK(seen.find(password) == std::string::npos);
  CHECK(seen.find("RSYNC_PASSWORD") == std::string::npos);
  CHECK(seen.find("--password-file=") != std::string::npos);
  CHECK(seen.find("MODE: 600 backup-doctor-test") != std::string::npos);
  CHECK((o.out + o.err).find(password) == std::string::npos);
  // The file is gone with the check.
  auto at = seen.find("--password-file=");
  std::string path = seen.substr(at + 16, seen.find_first_of(" \n", at) - at - 16);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("rsync.remote reads no key, known_hosts or ssh config that the backup account planted") {
  Scene scene;
  auto root_key = scene.base() / "root-only" / "id_ed25519";
  std::ofstream(root_key) << "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                          << scene.secret_token() << "\n";
  chmod(root_key.c_str(), 0600);
  auto key_link = scene.plant_symlink(".ssh/id_ed25519", root_key.string());
  auto hosts_link = scene.plant_symlink(".ssh/known_hosts", scene.secret_file().string());
  auto marker = scene.home() / "proxy-ran";
  auto config = scene.plant(".ssh/config",
                            "Host *\n  ProxyCommand sh -c 'id -u > " + marker.string() + "'\n");
  std::string destination = "backup-doctor-test@127.0.0.1:/srv/backup";
  auto remote = [&](const std::string& id, nlohmann::json with) {
    with["destination"] = destination;
    with["port"] = 1;
    with["connect_timeout"] = "2s";
    return nlohmann::json{{"id", id}, {"use", "rsync.remote"}, {"with", with}};
  };
  nlohmann::json checks = {remote("key", {{"identity_file", key_link.string()}}),
                           remote("hosts", {{"known_hosts_file", hosts_link.string()}}),
                           remote("config", {{"ssh_config_file", config.string()}})};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  for (const char* id : {"key", "hosts", "config"}) {
    CAPTURE(id);
    CHECK(o.result(id)["status"] == "fail");
    CHECK(o.result(id)["details"]["failure"] == "untrusted_ssh_file");
    CHECK(o.result(id)["summary"].get<std::string>().find("was not used") != std::string::npos);
  }
  check_contained(scene, o, before, {.markers = {marker}});
}

TEST_CASE("rsync.open_files and rsync.paths do not look into root's files through a link") {
  Scene scene;
  const std::string held = unique_token("held-");
  auto held_file = scene.base() / "root-only" / held;
  pid_t holder = hold_open_as_root(held_file, held);
  auto link = scene.plant_symlink("data", (scene.base() / "root-only").string());
  scene.plant("dst/.keep", "");
  nlohmann::json checks = {
      {{"id", "open"}, {"use", "rsync.open_files"}, {"with", {{"source", link.string()}}}},
      {{"id", "paths"},
       {"use", "rsync.paths"},
       {"with",
        {{"source", link.string() + "/"}, {"destination", (scene.home() / "dst").string()}}}}};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  stop(holder);
  CHECK(o.result("open")["status"] == "error");
  CHECK(o.result("open")["summary"].get<std::string>().find("was not scanned") !=
        std::string::npos);
  CHECK(o.result("paths")["status"] == "warn");
  CHECK(o.result("paths")["details"]["space"]["measured"] == false);
  CHECK(o.everything.find(held) == std::string::npos);
  check_contained(scene, o, before, {.process_markers = {}});
}
