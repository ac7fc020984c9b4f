// Servers the s3 tests start on loopback, each stopped by its destructor (also when a test
// fails): a background process (moto_server, openssl s_server), the shared moto fixture that
// the aws CLI fills, and small socket servers for what moto cannot do (answer with a scripted
// error such as ExpiredToken or RequestTimeTooSkewed, accept and never answer, drop SYNs).
#pragma once

#include "support/temp_dir.hpp"

#include <sys/types.h>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace s3test {

// A free TCP port on 127.0.0.1 (bound, then released).
int free_port();
// Waits until something accepts TCP connections on 127.0.0.1:port; false on timeout.
bool wait_for_port(int port, int timeout_ms);

// A child process that dies with the test process (PR_SET_PDEATHSIG) and is killed by the
// destructor. stdout/stderr go to `log_path`.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path,
                    const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  pid_t pid() const { return pid_; }
  bool running() const;

 private:
  pid_t pid_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// One moto_server for the whole test binary, started on first use, killed at exit. The aws CLI
// runs against it with dummy credentials and config files inside the fixture's temp dir:
// profile "default" uploads multipart in 8 MiB parts, profile "big" in 16 MiB parts.
class Moto {
 public:
  static Moto& get();
  ~Moto();

  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // Runs `aws --endpoint-url <moto> <args...>`; throws when `check` and it exits non-zero.
  CommandResult aws(const std::vector<std::string>& args, bool check = true,
                    const std::map<std::string, std::string>& env = {}) const;
  // Turns moto's IAM authentication on (signatures and policies are checked) or off.
  void set_auth(bool on) const;
  // A bucket name unique within this test process.
  std::string new_bucket(const std::string& tag) const;
  // Writes `size` bytes of deterministic content (seeded) to a file in the fixture dir.
  std::string make_file(const std::string& name, size_t size, unsigned seed) const;

  // Connection parameters for the checks: moto endpoint, path style, test credentials.
  nlohmann::json params(const std::string& bucket) const;

 private:
  Moto();
  std::unique_ptr<backup_doctor::test::TempDir> temp_;
  std::string dir_;
  int port_ = 0;
  std::string endpoint_;
  std::unique_ptr<BackgroundProcess> server_;
};

// Restores moto's authentication to "off" when it leaves scope.
struct AuthOn {
  AuthOn() { Moto::get().set_auth(true); }
  ~AuthOn() { Moto::get().set_auth(false); }
};

// The secret handed to every check in the tests: distinctive, so the tests can assert that it
// never appears in any output.
inline const char* kTestSecret = "Sup3rS3cret/Key+NeverPrint0123456789abcd";
inline const char* kTestKeyId = "AKIAIOSFODNN7TESTKEY";

// An HTTP/1.1 server on loopback that answers each connection with the next scripted reply
// (the last one repeats). Requests are recorded raw. With `hang`, it accepts and never answers.
class ScriptedServer {
 public:
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  explicit ScriptedServer(std::vector<Reply> replies, bool hang = false);
  ~ScriptedServer();
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() const;

 private:
  void serve();
  int listen_fd_ = -1;
  int port_ = 0;
  bool hang_;
  std::vector<Reply> replies_;
  size_t next_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<int> held_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A listening socket whose accept queue is full, so further SYNs are dropped: from the
// client's side, exactly a firewall that drops packets.
class DroppingListener {
 public:
  DroppingListener();
  ~DroppingListener();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// moto_server over TLS with a self-signed certificate ("Intercepting Proxy CA") for 127.0.0.1,
// made with openssl req: what a TLS-intercepting proxy presents.
class TlsServer {
 public:
  explicit TlsServer(const std::string& dir);
  int port() const { return port_; }
  const std::string& cert_path() const { return cert_; }

 private:
  int port_ = 0;
  std::string cert_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace s3test
