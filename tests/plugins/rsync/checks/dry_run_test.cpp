#include "access_probe.hpp"
#include "fixtures.hpp"
#include "rsync_plugin.hpp"

#include <backup_doctor/system.hpp>
#include <backup_doctor/testing.hpp>

#include <poll.h>
#include <sys/inotify.h>
#include <atomic>
#include <thread>

using backup_doctor::rsync::RsyncPlugin;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;
using nlohmann::json;
using namespace rsync_test;

namespace {

struct DryRunFixture {
  Sandbox box;
  UserIds user = test_user();
  fs::path src = box.dir("src");
  fs::path dst = box.dir("dst");
  RsyncPlugin plugin;
  DryRunFixture() {
    box.write("src/a.txt", std::string(1000, 'a'));
    box.write("src/b.txt", std::string(2000, 'b'));
    box.write("src/sub/c.txt", std::string(3000, 'c'));
    chmod_to(src / "sub", 0755);
    chown_to(dst, user);
  }
  // An "ssh" that connects nowhere and never answers (the remote shell must be ssh).
  std::string stalled_ssh(int seconds) const {
    fs::path ssh = box.write("bin/ssh", "#!/bin/sh\nsleep " + std::to_string(seconds) + "\n");
    chmod_to(box.path() / "bin", 0755);
    chmod_to(ssh, 0755);
    return ssh.string();
  }
  // The command between the backticks that starts with `prefix` in a remediation, or "".
  static std::string quoted_command(const std::string& text, const std::string& prefix) {
    size_t start = text.find("`" + prefix);
    if (start == std::string::npos) return {};
    size_t end = text.find('`', start + 1);
    return end == std::string::npos ? std::string() : text.substr(start + 1, end - start - 1);
  }
  // The real rsync (or any command), as the backup user would run it.
  backup_doctor::support::ProcessResult run_as_backup_user(
      const std::vector<std::string>& argv) const {
    backup_doctor::support::ProcessOptions o;
    o.as_user = user;
    o.cwd = "/";
    return backup_doctor::support::run_process(argv, o);
  }
  json params() const {
    return {{"source", src.string() + "/"},
            {"destination", dst.string() + "/"},
            {"args", {"-a", "--delete"}},
            {"run_as", user.name},
            {"timeout", "60s"}};
  }
};

}  // namespace

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: healthy first sync reports the pending drift") {
  auto r = run_check(plugin, "rsync.dry_run", params());
  CHECK(r.status == Status::ok);
  CHECK(r.summary.find("3 file(s)") != std::string::npos);
  CHECK(r.details["exit_code"] == 0);
  CHECK(r.details["would_transfer_files"] == 3);
  CHECK(r.details["would_transfer_bytes"] == 6000);
  CHECK(r.details["source_files"] == 3);
  CHECK(r.details["source_entries"] == 5);  // with the two directories
  CHECK(r.details["run_as"] == "backup-doctor-test");
  CHECK(r.details["probe"]["tested"] == true);
  CHECK(r.details["probe"]["files_checked"] == 3);
  REQUIRE(r.metric("transfer_files"));
  CHECK(r.metric("transfer_files")->value == 3);
  REQUIRE(r.metric("transfer_size"));
  CHECK(r.metric("transfer_size")->value == 6000);
  CHECK(r.metric("transfer_size")->unit == "bytes");
  CHECK(r.metric("exit_code")->value == 0);
  // Nothing found by the probe either: the real run is predicted to succeed.
  CHECK(r.details["predicted_exit_code"] == 0);
  CHECK(r.details["predicted_exit_code_name"] == "success");
  REQUIRE(r.metric("predicted_exit_code"));
  CHECK(r.metric("predicted_exit_code")->value == 0);
  CHECK(r.metric("dry_run_duration")->unit == "seconds");
  // A dry run: nothing was copied.
  CHECK(fs::is_empty(dst));
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: up to date after a real sync, deletions counted") {
  // The real job, as the backup user.
  REQUIRE(run_as_backup_user({"rsync", "-a", src.string() + "/", dst.string() + "/"}).ok());
  box.write("dst/stale.txt", "old");
  auto r = run_check(plugin, "rsync.dry_run", params());
  CHECK(r.status == Status::ok);
  CHECK(r.details["would_transfer_files"] == 0);
  CHECK(r.details["would_delete_files"] == 1);
  CHECK(r.metric("delete_files")->value == 1);
  CHECK(fs::exists(dst / "stale.txt"));  // still a dry run
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: drift above the threshold warns") {
  json p = params();
  p["warn_transfer_files"] = 2;
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("3 files would be transferred (threshold 2)") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: missing source is a partial transfer (23)") {
  json p = params();
  p["source"] = (box.path() / "nope").string() + "/";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 23);
  CHECK(r.details["exit_code_name"] == "partial_transfer");
  // The real run would end as the dry run did.
  CHECK(r.details["predicted_exit_code"] == 23);
  CHECK(r.metric("predicted_exit_code")->value == 23);
  CHECK(r.details["issues"]["missing"]["count"] == 1);
  CHECK(r.summary.find("code 23") != std::string::npos);
  CHECK(r.summary.find("missing: " + (box.path() / "nope").string()) != std::string::npos);
  CHECK(r.remediation.find("do not exist") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: an option the check does not know is refused, rsync not run") {
  json p = params();
  p["args"] = {"-a", "--no-such-option"};
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::error);
  CHECK(r.details["ran"] == false);
  // rsync did not run: nothing to predict from.
  CHECK_FALSE(r.details.contains("predicted_exit_code"));
  CHECK(r.metric("predicted_exit_code") == nullptr);
  CHECK(r.details["refused"][0]["option"] == "--no-such-option");
  CHECK(r.summary.find("does not accept --no-such-option") != std::string::npos);
  CHECK(r.remediation.find("rsync --help") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: a syntax error rsync itself finds is code 1") {
  json p = params();
  p["args"] = {"-a", "--max-size=lots"};
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 1);
  CHECK(r.details["exit_code_name"] == "syntax_error");
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: a file unreadable by the backup user (real run: 23)") {
  box.write("src/secret.key", "top secret");
  chmod_to(src / "secret.key", 0600);  // root's, not readable by the backup user
  auto r = run_check(plugin, "rsync.dry_run", params());
  CHECK(r.status == Status::fail);
  // rsync -n itself is happy: it never opens files. The probe finds it.
  CHECK(r.details["exit_code"] == 0);
  CHECK(r.details["exit_code_name"] == "success");
  REQUIRE(r.metric("exit_code"));
  CHECK(r.metric("exit_code")->value == 0);
  // What the summary predicts, in details and metrics too.
  CHECK(r.details["predicted_exit_code"] == 23);
  CHECK(r.details["predicted_exit_code_name"] == "partial_transfer");
  REQUIRE(r.metric("predicted_exit_code"));
  CHECK(r.metric("predicted_exit_code")->value == 23);
  CHECK(r.metric("predicted_exit_code")->unit == r.metric("exit_code")->unit);
  CHECK(r.metric("predicted_exit_code")->labels == r.metric("exit_code")->labels);
  CHECK(r.details["probe"]["unreadable"]["count"] == 1);
  CHECK(r.details["probe"]["unreadable"]["paths"][0] == (src / "secret.key").string());
  CHECK(r.summary.find("code 23") != std::string::npos);
  CHECK(r.summary.find((src / "secret.key").string()) != std::string::npos);
  CHECK(r.remediation.find("setfacl -m u:backup-doctor-test:r " + (src / "secret.key").string()) !=
        std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: the real rsync run confirms the prediction") {
  // Same tree as above, run for real as the backup user: the code the probe predicted.
  box.write("src/secret.key", "top secret");
  chmod_to(src / "secret.key", 0600);
  auto real = run_as_backup_user({"rsync", "-a", src.string() + "/", dst.string() + "/"});
  CHECK(real.exit_code == 23);
  CHECK(real.err.find("Permission denied") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: an unreadable directory fails the dry run itself (23)") {
  fs::path priv = box.dir("src/private", 0700);
  box.write("src/private/x", "x");
  box.write("src/secret2", "y");
  chmod_to(src / "secret2", 0600);
  auto r = run_check(plugin, "rsync.dry_run", params());
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 23);
  CHECK(r.details["issues"]["permission_denied"]["count"] == 1);
  CHECK(r.details["issues"]["permission_denied"]["paths"][0] == priv.string());
  CHECK(r.summary.find("1 unreadable for 'backup-doctor-test': " + priv.string()) !=
        std::string::npos);
  CHECK(r.remediation.find("setfacl -m u:backup-doctor-test:rx " + priv.string()) !=
        std::string::npos);
  // The probe adds the unreadable file the dry run did not notice.
  CHECK(r.details["probe"]["unreadable"]["count"] == 1);
  CHECK(r.summary.find("and 1 more problem") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: unwritable destination is predicted") {
  chown_to(dst, {"root", 0, 0, "/root"});
  auto r = run_check(plugin, "rsync.dry_run", params());
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 0);
  CHECK(r.details["predicted_exit_code"] == 23);
  CHECK(r.metric("predicted_exit_code")->value == 23);
  CHECK(r.summary.find("(code 23)") != std::string::npos);
  CHECK(r.details["probe"]["unwritable"]["count"] == 1);
  CHECK(r.summary.find("not writable by 'backup-doctor-test'") != std::string::npos);
  CHECK(r.remediation.find("chown backup-doctor-test " + dst.string() + "/") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: destination whose parent is missing (real run: 11)") {
  json p = params();
  p["destination"] = (box.path() / "no" / "such" / "dst").string();
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["destination_parent_missing"] == (box.path() / "no" / "such").string());
  CHECK(r.details["exit_code"] == 0);
  CHECK(r.details["predicted_exit_code"] == 11);
  CHECK(r.details["predicted_exit_code_name"] == "file_io_error");
  CHECK(r.metric("exit_code")->value == 0);
  CHECK(r.metric("predicted_exit_code")->value == 11);
  CHECK(r.summary.find("(code 11)") != std::string::npos);
  CHECK(r.remediation.find("--mkpath") != std::string::npos);
  CHECK_FALSE(fs::exists(box.path() / "no"));
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: a missing destination parent is created for the job's account") {
  const fs::path parent = box.path() / "no" / "such";
  json p = params();
  p["destination"] = (parent / "dst").string();
  auto r = run_check(plugin, "rsync.dry_run", p);
  INFO(r.remediation);
  REQUIRE(r.status == Status::fail);
  // Owned by run_as, with its group: not a root-owned `mkdir -p` the job cannot write into.
  const std::string fix = quoted_command(r.remediation, "install -d");
  CHECK(fix == "install -d -o backup-doctor-test -g " + backup_doctor::sdk::group_name(user.gid) +
                   " " + parent.string());
  CHECK(r.remediation.find("Create " + parent.string() + " for 'backup-doctor-test'") !=
        std::string::npos);
  // `mkdir -p` is named only as what not to do, never as the command for this directory.
  CHECK(r.remediation.find("mkdir -p " + parent.string()) == std::string::npos);

  // The advice works: run as root, the job's account can then create its destination there.
  REQUIRE(backup_doctor::support::run_process({"/bin/sh", "-c", fix}, {}).ok());
  struct stat st {};
  REQUIRE(stat(parent.c_str(), &st) == 0);
  CHECK(st.st_uid == user.uid);
  CHECK(st.st_gid == user.gid);
  auto after = run_check(plugin, "rsync.dry_run", p);
  INFO(after.summary);
  CHECK(after.status == Status::ok);
  CHECK(after.details["predicted_exit_code"] == 0);
  auto real = run_as_backup_user({"rsync", "-a", src.string() + "/", (parent / "dst").string()});
  CHECK(real.exit_code == 0);
  CHECK(fs::exists(parent / "dst" / "a.txt"));
}

TEST_CASE_FIXTURE(
    DryRunFixture,
    "rsync.dry_run: without a known backup account, the parent fix names a placeholder") {
  const fs::path parent = box.path() / "no" / "such";
  json p = params();
  p.erase("run_as");  // as root: the job's account is not known
  p["destination"] = (parent / "dst").string();
  auto r = run_check(plugin, "rsync.dry_run", p);
  INFO(r.summary, "\n", r.remediation);
  REQUIRE(r.status == Status::fail);
  CHECK(r.details["predicted_exit_code"] == 11);
  CHECK(quoted_command(r.remediation, "install -d") ==
        "install -d -o BACKUP_USER -g BACKUP_GROUP " + parent.string());
  CHECK(r.remediation.find("Create " + parent.string() +
                           " owned by the account the backup job runs as") != std::string::npos);
  CHECK(r.remediation.find("root") != std::string::npos);
  CHECK(r.remediation.find("run_as") != std::string::npos);
  CHECK(r.remediation.find("mkdir -p " + parent.string()) == std::string::npos);
}

TEST_CASE_FIXTURE(
    DryRunFixture,
    "rsync.dry_run: with several problems, the summary leads with the predicted code") {
  // An unreadable file (23) and a destination the backup user cannot create (11): rsync stops
  // at the destination, so the real run ends with 11, and the summary must say so.
  box.write("src/secret.key", "top secret");
  chmod_to(src / "secret.key", 0600);
  fs::path closed = box.dir("closed", 0755);  // root's
  json p = params();
  p["destination"] = (closed / "dst").string() + "/";
  auto r = run_check(plugin, "rsync.dry_run", p);
  INFO(r.summary, "\n", r.details.dump(2));
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 0);
  CHECK(r.details["probe"]["unreadable"]["count"] == 1);
  CHECK(r.details["probe"]["unwritable"]["count"] == 1);
  CHECK(r.details["predicted_exit_code"] == 11);
  CHECK(r.metric("predicted_exit_code")->value == 11);
  CHECK(r.summary.rfind("The real run would fail (code 11): " + closed.string(), 0) == 0);
  CHECK(r.summary.find("(and 1 more problem)") != std::string::npos);

  // Same when rsync's own code (23, a missing source) is not the one the real run ends with.
  p["source"] = {src.string() + "/", (box.path() / "nope").string()};
  r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.details["exit_code"] == 23);
  CHECK(r.metric("exit_code")->value == 23);
  CHECK(r.details["predicted_exit_code"] == 11);
  CHECK(r.metric("predicted_exit_code")->value == 11);
  CHECK(r.summary.rfind("The real run would fail (code 11)", 0) == 0);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: files vanishing during the run (24)") {
  // rsync lists a directory with getdents() and then lstat()s each entry it got; an entry
  // deleted in between is reported as "file has vanished" and the run ends with 24 (a dry
  // run never opens files, so this is the one place it can see a vanished file). To hit that
  // window every time, an inotify watch waits for the first getdents() batch on the directory
  // (IN_ACCESS) and then deletes the files from the end of the listing backwards, while rsync
  // is still working its way forward through the batch.
  fs::path churn = box.dir("src/churn");
  const int n = 1500;
  for (int i = 0; i < n; ++i) box.write("src/churn/f" + std::to_string(i), "");
  std::vector<std::string> order;  // readdir order, as rsync will see it
  for (const auto& e : fs::directory_iterator(churn)) order.push_back(e.path().string());
  int in = inotify_init1(IN_CLOEXEC);
  REQUIRE(in >= 0);
  REQUIRE(inotify_add_watch(in, churn.c_str(), IN_ACCESS) >= 0);
  std::atomic<int> deleted{0};
  std::thread deleter([&] {
    pollfd p{in, POLLIN, 0};
    if (poll(&p, 1, 30'000) != 1) return;
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      if (::unlink(it->c_str()) == 0) ++deleted;
  });
  // Hundreds of (never matching) exclude rules make rsync spend tens of microseconds per
  // entry, so the deleter wins the race even on a loaded machine.
  std::string rules;
  for (int i = 0; i < 300; ++i) rules += "*.never-matches-" + std::to_string(i) + "\n";
  fs::path exclude = box.write("exclude.txt", rules);
  json p = params();
  p["args"] = {"-a", "--exclude-from=" + exclude.string()};
  p["probe_access"] = false;
  auto r = run_check(plugin, "rsync.dry_run", p);
  deleter.join();
  close(in);
  INFO(r.summary, "\n", r.details.dump(2));
  CHECK(deleted == n);
  REQUIRE(r.details["exit_code"] == 24);
  CHECK(r.status == Status::warn);
  CHECK(r.details["exit_code_name"] == "vanished_source_files");
  CHECK(r.details["issues"]["vanished"]["count"].get<int>() >= 1);
  CHECK(r.summary.find("vanished during the dry run (code 24)") != std::string::npos);
  CHECK(r.summary.find(churn.string() + "/f") != std::string::npos);
  CHECK(r.remediation.find("snapshot") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: stalled remote side hits rsync's --timeout (30)") {
  json p = params();
  // A "remote shell" that never answers: rsync's own --timeout ends it with code 30.
  p["args"] = {"-a", "--timeout=1", "-e", stalled_ssh(4)};
  p["destination"] = "somehost:/backup/";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 30);
  CHECK(r.details["exit_code_name"] == "io_timeout");
  CHECK(r.remediation.find("stalled") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: the check's own timeout") {
  json p = params();
  p["args"] = {"-a", "-e", stalled_ssh(10)};
  p["destination"] = "somehost:/backup/";
  p["timeout"] = "1s";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::error);
  CHECK(r.summary.find("did not finish within 1s") != std::string::npos);
  CHECK(r.remediation.find("--timeout") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: rsync daemon refusing the connection (10)") {
  json p = params();
  p["destination"] = "rsync://127.0.0.1:" + std::to_string(free_port()) + "/backup/";
  p["daemon_password"] = "s3cret-daemon-pass";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["exit_code"] == 10);
  CHECK(r.details["exit_code_name"] == "socket_io_error");
  CHECK(r.details.dump().find("s3cret-daemon-pass") == std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: ssh refused through the job's remote shell (255)") {
  json p = params();
  p["args"] = {"-a", "-e", "ssh -F /dev/null -o BatchMode=yes -p " + std::to_string(free_port())};
  p["destination"] = "backup-doctor-test@127.0.0.1:/backup/";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::fail);
  // 12 as an unprivileged user, 255 as root: either way ssh's reason is surfaced.
  CHECK((r.details["exit_code"] == 12 || r.details["exit_code"] == 255));
  CHECK(r.details["ssh_failure"] == "connection_refused");
  CHECK(r.summary.find("Connection refused") != std::string::npos);
  CHECK(r.remediation.find("rsync.remote") != std::string::npos);
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: healthy remote sync over a real sshd") {
  auto& sshd = shared_sshd();
  fs::path target = sshd.remote_dir() / "dryrun-healthy";
  json p = params();
  p["args"] = {"-a", "-e", sshd.rsh()};
  p["destination"] = "backup-doctor-test@127.0.0.1:" + target.string() + "/";
  p.erase("run_as");  // root's ssh client with the test key; the remote side is unprivileged
  auto r = run_check(plugin, "rsync.dry_run", p);
  INFO(r.summary, "\n", r.details.dump(2), "\n", sshd.log());
  CHECK(r.status == Status::ok);
  CHECK(r.details["would_transfer_files"] == 3);
  CHECK(r.details["would_transfer_bytes"] == 6000);
  CHECK_FALSE(fs::exists(target));  // dry run: not even the directory was created
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: quiet and output-changing job options are set aside") {
  json p = params();
  p["args"] = {"-aq", "--out-format=%n", "--log-file=" + (box.path() / "job.log").string()};
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::ok);
  CHECK(r.details["would_transfer_files"] == 3);
  CHECK(r.details["ignored_args"].size() == 3);
  CHECK_FALSE(fs::exists(box.path() / "job.log"));  // nothing written, not even a log
}

TEST_CASE_FIXTURE(DryRunFixture, "rsync.dry_run: missing rsync program is an error") {
  json p = params();
  p["rsync"] = "/nonexistent/rsync";
  auto r = run_check(plugin, "rsync.dry_run", p);
  CHECK(r.status == Status::error);
  CHECK(r.remediation.find("apt-get install rsync") != std::string::npos);
}

namespace {

// A real rsync daemon on loopback whose module needs a user and a password.
class RsyncDaemon {
 public:
  RsyncDaemon(const Sandbox& box, const std::string& password) {
    port_ = free_port();
    fs::path module = box.dir("daemon-module", 0777);
    fs::path secrets = box.write("rsyncd.secrets", "backupper:" + password + "\n");
    chmod_to(secrets, 0600);
    fs::path conf = box.write("rsyncd.conf",
                              "use chroot = no\nuid = root\ngid = root\n"
                              "[backup]\npath = " +
                                  module.string() +
                                  "\nread only = false\nauth users = backupper\n"
                                  "secrets file = " +
                                  secrets.string() + "\n");
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execl("/usr/bin/rsync", "rsync", "--daemon", "--no-detach", "--address=127.0.0.1",
            ("--port=" + std::to_string(port_)).c_str(), ("--config=" + conf.string()).c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port_));
      bool up = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("rsync daemon did not come up");
  }
  ~RsyncDaemon() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string url() const {
    return "rsync://backupper@127.0.0.1:" + std::to_string(port_) + "/backup/";
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: the daemon password logs in through a private password file") {
  RsyncDaemon daemon(box, "daemon-pass-4711");
  json p = params();
  p["destination"] = daemon.url();
  p["daemon_password"] = "daemon-pass-4711";
  auto r = run_check(plugin, "rsync.dry_run", p);
  INFO(r.summary, "\n", r.details.dump(2));
  CHECK(r.status == Status::ok);
  CHECK(r.details["would_transfer_files"] == 3);
  std::string command = r.details["command"].dump();
  CHECK(command.find("daemon-pass-4711") == std::string::npos);
  CHECK(command.find("--password-file=") != std::string::npos);
  // As root too (the file is then root's).
  p.erase("run_as");
  CHECK(run_check(plugin, "rsync.dry_run", p).status == Status::ok);
  // A wrong password is the daemon's refusal (code 5), not a hang at a password prompt.
  p["daemon_password"] = "wrong";
  auto wrong = run_check(plugin, "rsync.dry_run", p);
  CHECK(wrong.status == Status::fail);
  CHECK(wrong.details["exit_code"] == 5);
}

TEST_CASE_FIXTURE(DryRunFixture,
                  "rsync.dry_run: as root, a job option reading the account's file is refused") {
  fs::path list = box.write("files.txt", "a.txt\n");
  chown_to(list, user);
  chown_to(box.path(), user);  // the account could swap the list for a link
  json p = params();
  p.erase("run_as");
  p["args"] = {"-a", "--files-from=" + list.string()};
  auto r = run_check(plugin, "rsync.dry_run", p);
  chown_to(box.path(), UserIds{"root", 0, 0, "/root"});
  CHECK(r.status == Status::error);
  CHECK(r.summary.find("--files-from=" + list.string()) != std::string::npos);
  CHECK(r.summary.find("backup-doctor-test") != std::string::npos);
  CHECK(r.remediation.find("run_as") != std::string::npos);
  // With run_as, rsync reads it with the account's rights: fine.
  p["run_as"] = user.name;
  CHECK(run_check(plugin, "rsync.dry_run", p).status == Status::ok);
}

TEST_CASE("rsync access probe: a FIFO, a device or a link in the list is never opened") {
  Sandbox box;
  UserIds user = test_user();
  fs::path fifo = box.path() / "fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0666) == 0);
  fs::path secret = box.write("secret", "root only");
  chmod_to(secret, 0600);
  fs::path link = box.path() / "link";
  fs::create_symlink(secret, link);
  fs::path unreadable = box.write("unreadable", "x");
  chmod_to(unreadable, 0600);
  auto started = std::chrono::steady_clock::now();
  auto r = backup_doctor::rsync::probe_access(
      user, {fifo.string(), "/dev/zero", link.string(), unreadable.string()}, {});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  REQUIRE(r.tested);
  // Only the regular file counts (rsync sends a link as a link, and skips FIFOs and devices).
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].path == unreadable.string());
  CHECK(r.failures[0].error == EACCES);
}
