#include "fixtures.hpp"
#include "rsync_plugin.hpp"

#include <backup_doctor/testing.hpp>

using backup_doctor::rsync::RsyncPlugin;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;
using nlohmann::json;
using namespace rsync_test;

namespace {

struct RemoteFixture {
  SshServer& sshd = shared_sshd();
  RsyncPlugin plugin;
};

}  // namespace

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: healthy login, writable path, remote rsync") {
  auto r = run_check(plugin, "rsync.remote", sshd.remote_params(sshd.remote_dir().string()));
  INFO(r.summary, "\n", r.details.dump(2), "\n", sshd.log());
  CHECK(r.status == Status::ok);
  CHECK(r.details["remote_path_state"] == "writable");
  CHECK(r.details["remote_identity"] == "backup-doctor-test:backup-doctor-test");
  CHECK(r.details["remote_rsync"] == "/usr/bin/rsync");
  CHECK_FALSE(r.details["remote_rsync_version"].get<std::string>().empty());
  CHECK(r.details["remote_free_bytes"].get<double>() > 0);
  REQUIRE(r.metric("ssh_login_duration"));
  CHECK(r.metric("ssh_login_duration")->unit == "seconds");
  REQUIRE(r.metric("remote_free"));
  CHECK(r.summary.find("is writable and rsync") != std::string::npos);
  // Only questions were asked: nothing was created in the destination.
  CHECK(fs::is_empty(sshd.remote_dir()));
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: remote path not writable by the remote user") {
  auto r = run_check(plugin, "rsync.remote", sshd.remote_params(sshd.readonly_dir().string()));
  CHECK(r.status == Status::fail);
  CHECK(r.details["remote_path_state"] == "not_writable");
  CHECK(r.details["remote_path_owner"] == "root:root");
  CHECK(r.summary.find("not writable by 'backup-doctor-test'") != std::string::npos);
  CHECK(r.remediation.find("chown backup-doctor-test:backup-doctor-test " +
                           sshd.readonly_dir().string()) != std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: remote path missing") {
  auto r = run_check(plugin, "rsync.remote",
                     sshd.remote_params((sshd.readonly_dir() / "a" / "b").string()));
  CHECK(r.status == Status::fail);
  CHECK(r.details["remote_path_state"] == "missing");
  CHECK(r.remediation.find("mkdir -p " + (sshd.readonly_dir() / "a" / "b").string()) !=
        std::string::npos);
  // A missing last directory under a writable parent is created by rsync itself: a warning.
  json p = sshd.remote_params((sshd.remote_dir() / "not-yet").string());
  p["port"] = std::to_string(sshd.port());  // a port may come as a string (checklist variable)
  auto w = run_check(plugin, "rsync.remote", p);
  CHECK(w.status == Status::warn);
  CHECK(w.details["remote_path_state"] == "missing_parent_writable");
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: rsync missing on the remote host") {
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["remote_rsync"] = "rsync-not-installed-here";
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("rsync is not installed on 127.0.0.1") != std::string::npos);
  CHECK(r.remediation.find("--rsync-path") != std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: connection refused") {
  json p = sshd.remote_params("/srv");
  int port = free_port();
  p["port"] = port;
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "connection_refused");
  CHECK(r.summary == "SSH connection to 127.0.0.1:" + std::to_string(port) + " refused");
  CHECK(r.remediation.find("sshd runs on 127.0.0.1") != std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: wrong key") {
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["identity_file"] = sshd.file("wrong_key").string();
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "auth_failed");
  CHECK(r.summary.find("authentication as 'backup-doctor-test'") != std::string::npos);
  CHECK(r.remediation.find("ssh-copy-id -i " + sshd.file("wrong_key").string() + ".pub") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: unknown host key") {
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["known_hosts_file"] = sshd.file("empty_known_hosts").string();
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "unknown_host_key");
  CHECK(r.remediation.find("ssh-keyscan -p " + std::to_string(sshd.port()) + " 127.0.0.1 >> " +
                           sshd.file("empty_known_hosts").string()) != std::string::npos);
  CHECK(slurp(sshd.file("empty_known_hosts")).empty());  // nothing was accepted on our behalf
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: changed host key") {
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["known_hosts_file"] = sshd.file("changed_known_hosts").string();
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "host_key_changed");
  CHECK(r.summary.find("CHANGED") != std::string::npos);
  CHECK(r.remediation.find("ssh-keygen -R '[127.0.0.1]:" + std::to_string(sshd.port()) + "'") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: timeout against a listener that never answers") {
  SilentListener silent;
  json p = sshd.remote_params("/srv");
  p["port"] = silent.port();
  p["connect_timeout"] = "1s";
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "timeout");
  CHECK(r.details["timeout_stage"] == "banner");
  CHECK(r.summary.find("timed out waiting for the server's greeting") != std::string::npos);
  CHECK(r.details["duration_seconds"].get<double>() < 10);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: private key readable by others") {
  Sandbox box;
  fs::copy_file(sshd.file("user_key"), box.path() / "loose_key");
  chmod_to(box.path() / "loose_key", 0644);
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["identity_file"] = (box.path() / "loose_key").string();
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "key_permissions");
  CHECK(r.remediation.find("chmod 600 " + (box.path() / "loose_key").string()) !=
        std::string::npos);
}

TEST_CASE_FIXTURE(RemoteFixture, "rsync.remote: missing identity file") {
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["identity_file"] = "/nonexistent/id_ed25519";
  auto r = run_check(plugin, "rsync.remote", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["failure"] == "key_unreadable");
}

TEST_CASE("rsync.remote: local and daemon destinations are skipped") {
  RsyncPlugin plugin;
  auto r = run_check(plugin, "rsync.remote", {{"destination", "/srv/backup/"}});
  CHECK(r.status == Status::skipped);
  r = run_check(plugin, "rsync.remote", {{"destination", "nas::backups"}});
  CHECK(r.status == Status::skipped);
}

TEST_CASE_FIXTURE(RemoteFixture,
                  "rsync.remote: as root, the account's own key is used through a private copy") {
  // The key and known_hosts live in the backup account's directory: its files, which it could
  // swap for links between the check and ssh reading them. ssh gets a copy of what was checked.
  Sandbox box("bd-rsync-theirs");
  UserIds user = test_user();
  fs::path dir = box.dir("ssh", 0700);
  fs::copy_file(sshd.file("user_key"), dir / "id");
  fs::copy_file(sshd.file("known_hosts"), dir / "known_hosts");
  for (const auto& p : {dir, dir / "id", dir / "known_hosts"}) chown_to(p, user);
  chmod_to(dir / "id", 0600);
  json p = sshd.remote_params(sshd.remote_dir().string());
  p["identity_file"] = (dir / "id").string();
  p["known_hosts_file"] = (dir / "known_hosts").string();
  auto r = run_check(plugin, "rsync.remote", p);
  INFO(r.summary, "\n", r.details.dump(2), "\n", sshd.log());
  CHECK(r.status == Status::ok);
  std::string command = r.details["command"].dump();
  CHECK(command.find((dir / "id").string()) == std::string::npos);
  // The same files as a link: refused before ssh starts.
  fs::create_symlink(sshd.file("user_key"), dir / "link");
  p["identity_file"] = (dir / "link").string();
  auto linked = run_check(plugin, "rsync.remote", p);
  CHECK(linked.status == Status::fail);
  CHECK(linked.details["failure"] == "untrusted_ssh_file");
  CHECK(linked.summary.find("symbolic link") != std::string::npos);
  CHECK(linked.remediation.find("run_as") != std::string::npos);
}
