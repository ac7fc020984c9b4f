// Test fixtures for the rsync plugin: sandboxes the unprivileged test user can enter, a real
// sshd on loopback (shared by all test cases of the process), and listeners that refuse or
// never answer.
#pragma once

#include "support/temp_dir.hpp"

#include <backup_doctor/support/process.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace rsync_test {

namespace fs = std::filesystem;
using backup_doctor::support::UserIds;

// The unprivileged account created by scripts/setup. Missing means setup was not run: fail loudly.
inline UserIds test_user() {
  auto u = backup_doctor::support::lookup_user("backup-doctor-test");
  if (!u) throw std::runtime_error("user backup-doctor-test is missing: run scripts/setup");
  return *u;
}

inline void chown_to(const fs::path& p, const UserIds& u) {
  if (::chown(p.c_str(), u.uid, u.gid) != 0) throw std::runtime_error("chown " + p.string());
}

inline void chmod_to(const fs::path& p, mode_t mode) {
  if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod " + p.string());
}

// A temp dir the test user may enter (mkdtemp makes it 0700).
class Sandbox : public backup_doctor::test::TempDir {
 public:
  explicit Sandbox(const std::string& tag = "bd-rsync") : TempDir(tag) { chmod_to(path(), 0755); }
  fs::path dir(const std::string& rel, mode_t mode = 0755) const {
    fs::path p = path() / rel;
    fs::create_directories(p);
    chmod_to(p, mode);
    return p;
  }
};

inline std::string run_ok(const std::vector<std::string>& argv) {
  auto r = backup_doctor::support::run_process(argv);
  if (!r.ok()) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error(cmd + "failed: " + r.describe() + ": " + r.err);
  }
  return r.out;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A loopback TCP port nobody listens on (bound, then released).
inline int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

// Listens on loopback and never says a word: the kernel completes the TCP handshake for
// queued connections, so a client connects and then waits for a greeting that never comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0)
      throw std::runtime_error("silent listener");
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A real OpenSSH server on 127.0.0.1, run as the unprivileged test user. Run as non-root, sshd
// needs no privilege-separation directory (/run/sshd) and can only log in its own user, which
// is exactly the unprivileged remote account the permission cases need.
class SshServer {
 public:
  SshServer() : dir_("bd-rsync-sshd") {
    const UserIds user = test_user();
    chmod_to(dir_.path(), 0755);
    const fs::path d = dir_.path();
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bd-host", "-f",
            (d / "host_key").string()});
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bd-other-host", "-f",
            (d / "other_host_key").string()});
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bd-user", "-f",
            (d / "user_key").string()});
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bd-wrong", "-f",
            (d / "wrong_key").string()});
    fs::copy_file(d / "user_key.pub", d / "authorized_keys");
    port_ = free_port();
    const std::string hostpat = "[127.0.0.1]:" + std::to_string(port_);
    std::ofstream(d / "known_hosts") << hostpat << " " << slurp(d / "host_key.pub");
    std::ofstream(d / "changed_known_hosts") << hostpat << " " << slurp(d / "other_host_key.pub");
    std::ofstream(d / "empty_known_hosts") << "";
    fs::create_directories(d / "run");
    std::ofstream(d / "sshd_config")
        << "Port " << port_ << "\nListenAddress 127.0.0.1\n"
        << "HostKey " << (d / "host_key").string() << "\n"
        << "PidFile " << (d / "run" / "sshd.pid").string() << "\n"
        << "AuthorizedKeysFile " << (d / "authorized_keys").string() << "\n"
        << "UsePAM no\nStrictModes no\nPasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        << "LogLevel VERBOSE\nMaxStartups 50\n";
    // sshd (as the test user) must read its host key and config and write its pid file.
    for (const char* f : {"host_key", "authorized_keys", "sshd_config", "run"})
      chown_to(d / f, user);
    remote_dir_ = d / "remote";  // the backup destination on the "remote" host
    fs::create_directories(remote_dir_);
    chown_to(remote_dir_, user);
    readonly_dir_ = d / "readonly";  // exists, owned by root: not writable for the remote user
    fs::create_directories(readonly_dir_);
    chmod_to(readonly_dir_, 0755);

    // sshd -t first: a configuration error should be reported as such, not as a timeout.
    backup_doctor::support::ProcessOptions check;
    check.as_user = user;
    check.cwd = "/";
    auto t = backup_doctor::support::run_process(
        {"/usr/sbin/sshd", "-t", "-f", (d / "sshd_config").string()}, check);
    if (!t.ok()) throw std::runtime_error("sshd -t rejects the test configuration: " + t.err);

    start(user);
    wait_ready();
  }
  ~SshServer() {
    if (pid_ > 0) {
      kill(-pid_, SIGTERM);
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  int port() const { return port_; }
  fs::path file(const std::string& name) const { return dir_.path() / name; }
  const fs::path& remote_dir() const { return remote_dir_; }
  const fs::path& readonly_dir() const { return readonly_dir_; }
  std::string log() const { return slurp(dir_.path() / "sshd.log"); }
  // ssh client options for the healthy login, as rsync -e / rsync.remote parameters.
  std::string rsh() const {
    return "ssh -F /dev/null -p " + std::to_string(port_) + " -i " + file("user_key").string() +
           " -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=" +
           file("known_hosts").string();
  }
  nlohmann::json remote_params(const std::string& path) const {
    return {{"destination", "backup-doctor-test@127.0.0.1:" + path},
            {"port", port_},
            {"identity_file", file("user_key").string()},
            {"known_hosts_file", file("known_hosts").string()},
            {"ssh_config_file", "/dev/null"},
            {"connect_timeout", "5s"},
            {"timeout", "30s"}};
  }

 private:
  void start(const UserIds& user) {
    std::vector<gid_t> groups(64);
    int n = static_cast<int>(groups.size());
    getgrouplist(user.name.c_str(), user.gid, groups.data(), &n);
    groups.resize(static_cast<size_t>(std::max(n, 0)));
    std::string config = (dir_.path() / "sshd_config").string();
    std::string logfile = (dir_.path() / "sshd.log").string();
    int log_fd = open(logfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      setpgid(0, 0);
      dup2(log_fd, 2);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
      if (setgroups(groups.size(), groups.data()) != 0 || setgid(user.gid) != 0 ||
          setuid(user.uid) != 0)
        _exit(126);
      // After setuid (which clears it): sshd dies with the test process even on a crash.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (chdir("/") != 0) _exit(126);
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(log_fd);
  }

  // Ready when the port answers with an SSH greeting.
  void wait_ready() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("sshd exited at start: " + log());
      }
      int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port_));
      if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        char buf[8] = {};
        timeval tv{2, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t got = recv(s, buf, 4, 0);
        close(s);
        if (got == 4 && std::string(buf, 4) == "SSH-") return;
      } else {
        close(s);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("sshd did not come up: " + log());
  }

  backup_doctor::test::TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  fs::path remote_dir_, readonly_dir_;
};

// One sshd for the whole test process (started on first use, stopped at exit).
inline SshServer& shared_sshd() {
  static SshServer server;
  return server;
}

// A process that holds `file` open (for writing or reading) under the name `name` until
// destroyed.
class FileHolder {
 public:
  FileHolder(const fs::path& file, int flags, const char* name) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      prctl(PR_SET_NAME, name);
      int fd = open(file.c_str(), flags | O_CREAT, 0644);
      char ok = fd >= 0 ? 'y' : 'n';
      ssize_t w = write(ready[1], &ok, 1);
      (void)w;
      for (;;) pause();
    }
    close(ready[1]);
    char ok = 'n';
    ssize_t r = read(ready[0], &ok, 1);
    close(ready[0]);
    if (r != 1 || ok != 'y') throw std::runtime_error("holder could not open " + file.string());
  }
  ~FileHolder() {
    kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  FileHolder(const FileHolder&) = delete;
  FileHolder& operator=(const FileHolder&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace rsync_test
