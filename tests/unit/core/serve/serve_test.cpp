// `backup-doctor serve`, the real binary on loopback, with a real HTTP client (cpp-httplib):
// what it serves, how it reloads and stops, and that no client or scrape can hold it up.
#include "support/temp_dir.hpp"

#include <crypt.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

using backup_doctor::test::TempDir;
using nlohmann::json;

namespace {

const std::string kFixtures = BD_FIXTURE_PLUGIN_DIR;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// backup-doctor serve in the background, its stderr in a file; stopped (SIGTERM, then SIGKILL)
// when the test ends.
class Served {
 public:
  Served(const TempDir& dir, std::vector<std::string> args) : log_(dir / "serve.log") {
    args.insert(args.begin(), {BD_TEST_BIN, "--plugin-dir", kFixtures, "serve"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid_, BD_TEST_BIN, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      const std::string text = read_file(log_);
      const size_t at = text.find("listening on 127.0.0.1:");
      if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + 23);
      if (exited()) break;
    }
  }
  ~Served() {
    if (pid_ > 0 && !exited()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string log() const { return read_file(log_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  // Waits until /metrics shows at least `runs` runs.
  bool wait_runs(int runs, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto r = client().Get("/metrics");
      if (r && r->body.find("backup_doctor_serve_runs_total " + std::to_string(runs)) !=
                   std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void signal(int sig) const { kill(pid_, sig); }
  // The exit code after SIGTERM, or -1 when it did not stop within `limit`.
  int stop(std::chrono::seconds limit) {
    kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (exited()) return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool exited() {
    if (done_) return true;
    done_ = waitpid(pid_, &status_, WNOHANG) == pid_;
    return done_;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = 0;
  bool done_ = false;
};

std::string checklist(const std::string& status, const std::string& severity = "critical") {
  return json{{"version", 1},
              {"name", "served"},
              {"checks",
               {{{"id", "state"},
                 {"use", "fixture.status"},
                 {"severity", severity},
                 {"with", {{"status", status}, {"summary", "planted " + status}}}}}}}
      .dump();
}

}  // namespace

TEST_CASE("serve runs at start-up and serves /metrics, /healthz and /report.json from it") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("fail"));
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--interval", "1h"});
  REQUIRE_MESSAGE(s.port() > 0, s.log());
  REQUIRE(s.wait_runs(1));
  auto metrics = s.client().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
  CHECK(
      metrics->body.find(
          "backup_doctor_check_status{checklist=\"served\",check=\"state\",type=\"fixture.status\","
          "severity=\"critical\",status=\"fail\"} 1") != std::string::npos);
  CHECK(metrics->body.find("backup_doctor_checklist_reload_failed 0") != std::string::npos);
  auto health = s.client().Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);  // a critical check fails
  auto report = s.client().Get("/report.json");
  REQUIRE(report);
  CHECK(json::parse(report->body)["results"][0]["summary"] == "planted fail");
  CHECK(s.client().Get("/nothing-here")->status == 404);
  CHECK(s.stop(std::chrono::seconds(10)) == 0);
  CHECK(s.log().find("stopped") != std::string::npos);
}

TEST_CASE("healthz is 200 while the results are ok or warn") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("fail", "warning"));
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0"});
  REQUIRE(s.wait_runs(1));
  CHECK(s.client().Get("/healthz")->status == 200);
  CHECK(s.client().Get("/healthz")->body == "ok\n");
}

TEST_CASE("SIGHUP reloads a valid checklist, and keeps the running one when the new one is not") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--interval", "1h"});
  REQUIRE(s.wait_runs(1));
  dir.write("c.json", "{\"version\": 1, \"checks\": [{\"id\": \"x\"}]}");  // no "use"
  s.signal(SIGHUP);
  REQUIRE(s.wait_runs(2));
  auto m = s.client().Get("/metrics")->body;
  CHECK(m.find("backup_doctor_checklist_reload_failed 1") != std::string::npos);
  CHECK(m.find("status=\"ok\"} 1") != std::string::npos);  // still the old checklist's result
  CHECK(s.log().find("still running the previous checklist") != std::string::npos);
  dir.write("c.json", checklist("warn"));
  s.signal(SIGHUP);
  REQUIRE(s.wait_runs(3));
  m = s.client().Get("/metrics")->body;
  CHECK(m.find("backup_doctor_checklist_reload_failed 0") != std::string::npos);
  CHECK(m.find("status=\"warn\"} 1") != std::string::npos);
}

TEST_CASE("SIGTERM during a run stops the hanging check and serve, leaving nothing behind") {
  TempDir dir("bd-serve");
  dir.write("c.json",
            json{{"version", 1},
                 {"checks", {{{"id", "stuck"}, {"use", "fixture.hang"}, {"timeout", "10m"}}}}}
                .dump());
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0"});
  REQUIRE_MESSAGE(s.port() > 0, s.log());
  // While the first run hangs, scrapes are answered: no results yet.
  auto health = s.client().Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == "starting: no results yet\n");
  const auto started = std::chrono::steady_clock::now();
  CHECK(s.stop(std::chrono::seconds(15)) == 0);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE(
    "a client that never sends its request holds up no one, and concurrent scrapes read whole "
    "reports") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--interval", "1s"});
  REQUIRE(s.wait_runs(1));
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {  // connected, silent
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    idle.push_back(fd);
  }
  std::atomic<int> good{0}, bad{0};
  std::vector<std::thread> scrapers;
  for (int t = 0; t < 8; ++t) {
    scrapers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = s.client().Get("/report.json");
        if (r && r->status == 200 && json::accept(r->body))
          ++good;
        else
          ++bad;
      }
    });
  }
  for (auto& t : scrapers) t.join();
  for (int fd : idle) close(fd);
  CHECK(good == 200);
  CHECK(bad == 0);
}

TEST_CASE("serve says what is wrong with its options") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  Served bad_listen(dir, {(dir / "c.json").string(), "--listen", "localhost"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(bad_listen.exited());
  CHECK(bad_listen.log().find("--listen localhost: expected ADDRESS:PORT, e.g. 127.0.0.1:9847") !=
        std::string::npos);
  Served bad_interval(dir, {(dir / "c.json").string(), "--interval", "soon"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(bad_interval.exited());
  CHECK(bad_interval.log().find("--interval soon: expected a duration of at least 10ms") !=
        std::string::npos);
  Served first(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0"});
  REQUIRE(first.port() > 0);
  Served second(
      dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:" + std::to_string(first.port())});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(second.exited());
  CHECK(second.log().find("cannot listen there (in use, or not an address of this host)") !=
        std::string::npos);
}

TEST_CASE("--web-config: TLS and basic auth in exporter-toolkit's format") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  REQUIRE(std::system(make_cert.c_str()) == 0);
  char salt[64];
  REQUIRE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("s3cret-scrape", salt, &data);
  dir.write("web.yml", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key +
                           "\nbasic_auth_users:\n  prometheus: '" + hash + "'\n");
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                 (dir / "web.yml").string()});
  REQUIRE_MESSAGE(s.port() > 0, s.log());
  CHECK(s.log().find("over TLS") != std::string::npos);
  httplib::SSLClient tls("127.0.0.1", s.port());
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  auto anonymous = tls.Get("/metrics");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(anonymous->get_header_value("WWW-Authenticate") == "Basic realm=\"backup-doctor\"");
  tls.set_basic_auth("prometheus", "wrong");
  CHECK(tls.Get("/metrics")->status == 401);
  tls.set_basic_auth("prometheus", "s3cret-scrape");
  auto ok = tls.Get("/healthz");
  REQUIRE(ok);
  CHECK((ok->status == 200 || ok->status == 503));
  CHECK(!s.client().Get("/metrics"));  // plain HTTP gets no answer from a TLS server
}

TEST_CASE("--web-config refuses what it does not implement, and hashes that are not bcrypt") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  dir.write("ca.yml", "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n");
  Served ca(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                  (dir / "ca.yml").string()});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(ca.exited());
  CHECK(
      ca.log().find(
          "tls_server_config.client_ca_file is not supported by backup-doctor serve; remove it") !=
      std::string::npos);
  dir.write("plain.yml", "basic_auth_users:\n  prometheus: hunter2\n");
  Served plain(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                     (dir / "plain.yml").string()});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(plain.exited());
  CHECK(plain.log().find(
            "basic_auth_users.prometheus is not a bcrypt hash; make one with `htpasswd -nBC 10 "
            "prometheus`") != std::string::npos);
  CHECK(plain.log().find("hunter2") == std::string::npos);
  dir.write("bad.yml", "tls_server_config: [\n");
  Served bad(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                   (dir / "bad.yml").string()});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(bad.exited());
  CHECK(bad.log().find("bad.yml:2:1: not valid YAML for a web config") != std::string::npos);
}

TEST_CASE("--web-config as root: refused when others can change it, and never a FIFO") {
  if (geteuid() != 0) return;
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  dir.write("web.yml", "basic_auth_users: {}\n");
  REQUIRE(chmod((dir / "web.yml").c_str(), 0666) == 0);
  Served open(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                    (dir / "web.yml").string()});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(open.exited());
  CHECK(open.port() == 0);
  CHECK_MESSAGE(open.log().find("web.yml: refused:") != std::string::npos, open.log());
  REQUIRE(mkfifo((dir / "fifo.yml").c_str(), 0600) == 0);
  Served fifo(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                    (dir / "fifo.yml").string()});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(fifo.exited());  // not blocked opening it
  CHECK_MESSAGE(fifo.log().find("not a regular file") != std::string::npos, fifo.log());
}

TEST_CASE("--web-config: an unknown user is answered as slowly as a wrong password") {
  TempDir dir("bd-serve");
  dir.write("c.json", checklist("ok"));
  char salt[64];
  REQUIRE(crypt_gensalt_rn("$2b$", 11, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("s3cret-scrape", salt, &data);
  dir.write("web.yml", "basic_auth_users:\n  prometheus: '" + hash + "'\n");
  Served s(dir, {(dir / "c.json").string(), "--listen", "127.0.0.1:0", "--web-config",
                 (dir / "web.yml").string()});
  REQUIRE_MESSAGE(s.port() > 0, s.log());
  auto timed = [&](const char* user) {
    auto c = s.client();
    c.set_basic_auth(user, "guess");
    const auto start = std::chrono::steady_clock::now();
    auto r = c.Get("/metrics");
    REQUIRE(r);
    CHECK(r->status == 401);
    return std::chrono::steady_clock::now() - start;
  };
  const auto known = timed("prometheus");
  const auto unknown = timed("nobody-here");
  CHECK_MESSAGE(unknown * 3 > known,
                "unknown user answered in "
                    << std::chrono::duration_cast<std::chrono::microseconds>(unknown).count()
                    << " us, a wrong password in "
                    << std::chrono::duration_cast<std::chrono::microseconds>(known).count());
}
