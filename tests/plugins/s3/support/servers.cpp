#include "servers.hpp"

#include <backup_doctor/support/process.hpp>

#include <curl/curl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

namespace s3test {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int listen_on_free_port(int backlog, int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen failed");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int free_port() {
  int port = 0;
  int fd = listen_on_free_port(1, &port);
  ::close(fd);
  return port;
}

bool wait_for_port(int port, int timeout_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  return false;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::string& log_path,
                                     const std::map<std::string, std::string>& env) {
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

bool BackgroundProcess::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

// ---------------------------------------------------------------------------------------------

Moto& Moto::get() {
  static Moto moto;
  return moto;
}

Moto::Moto() {
  temp_ = std::make_unique<backup_doctor::test::TempDir>("bd-s3-moto");
  dir_ = temp_->path().string();
  if (backup_doctor::support::find_program("moto_server").empty())
    throw std::runtime_error("moto_server is not on PATH (scripts/setup checks for it)");
  if (backup_doctor::support::find_program("aws").empty())
    throw std::runtime_error("the aws CLI is not on PATH (scripts/setup checks for it)");
  temp_->write("aws/config",
               "[default]\n"
               "region = us-east-1\n"
               "s3 =\n"
               "    multipart_threshold = 8MB\n"
               "    multipart_chunksize = 8MB\n"
               "[profile big]\n"
               "region = us-east-1\n"
               "s3 =\n"
               "    multipart_threshold = 8MB\n"
               "    multipart_chunksize = 16MB\n");
  temp_->write("aws/credentials",
               "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
               "[big]\naws_access_key_id = testing\naws_secret_access_key = testing\n");
  for (int attempt = 0; attempt < 3 && !server_; ++attempt) {
    port_ = free_port();
    auto p = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"moto_server", "-H", "127.0.0.1", "-p", std::to_string(port_)},
        dir_ + "/moto.log");
    if (wait_for_port(port_, 20'000) && p->running()) server_ = std::move(p);
  }
  if (!server_) throw std::runtime_error("moto_server did not start; see " + dir_ + "/moto.log");
  endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
}

Moto::~Moto() {
  server_.reset();
}

CommandResult Moto::aws(const std::vector<std::string>& args, bool check,
                        const std::map<std::string, std::string>& env) const {
  backup_doctor::support::ProcessOptions opt;
  opt.timeout = std::chrono::seconds(120);
  opt.env = {{"AWS_CONFIG_FILE", dir_ + "/aws/config"},
             {"AWS_SHARED_CREDENTIALS_FILE", dir_ + "/aws/credentials"},
             {"AWS_DEFAULT_REGION", "us-east-1"},
             {"HOME", dir_},
             {"AWS_PAGER", ""}};
  for (const auto& [k, v] : env) opt.env[k] = v;
  std::vector<std::string> argv = {"aws", "--endpoint-url", endpoint_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = backup_doctor::support::run_process(argv, opt);
  CommandResult out{r.exit_code, r.out, r.err};
  if (check && !r.ok()) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error("aws" + cmd + " failed (" + r.describe() + "): " + r.err);
  }
  return out;
}

void Moto::set_auth(bool on) const {
  CURL* c = curl_easy_init();
  std::string url = endpoint_ + "/moto-api/reset-auth";
  std::string body = on ? "0" : "inf";
  struct curl_slist* h = curl_slist_append(nullptr, "Content-Type: text/plain");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) -> size_t { return s * n; });
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK || status != 200) throw std::runtime_error("moto reset-auth failed");
}

std::string Moto::new_bucket(const std::string& tag) const {
  static int counter = 0;
  return "bd-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

std::string Moto::make_file(const std::string& name, size_t size, unsigned seed) const {
  std::string path = dir_ + "/" + name;
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  for (auto& c : data) c = static_cast<char>(rng() & 0xff);
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

nlohmann::json Moto::params(const std::string& bucket) const {
  return {{"endpoint", endpoint_},
          {"bucket", bucket},
          {"region", "us-east-1"},
          {"access_key_id", kTestKeyId},
          {"secret_access_key", kTestSecret},
          {"timeout", "20s"}};
}

// ---------------------------------------------------------------------------------------------

ScriptedServer::ScriptedServer(std::vector<Reply> replies, bool hang)
    : hang_(hang), replies_(std::move(replies)) {
  listen_fd_ = listen_on_free_port(16, &port_);
  thread_ = std::thread([this] { serve(); });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  ::close(listen_fd_);
  for (int fd : held_) ::close(fd);
}

std::vector<std::string> ScriptedServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void ScriptedServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (hang_) {
      held_.push_back(fd);  // accepted, never answered, closed by the destructor
      continue;
    }
    // Read the request head, then the body by Content-Length.
    std::string raw;
    char buf[4096];
    size_t head_end = std::string::npos;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (head_end == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
      head_end = raw.find("\r\n\r\n");
    }
    size_t content_length = 0;
    std::string lower = raw.substr(0, head_end);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (auto cl = lower.find("content-length:"); cl != std::string::npos)
      content_length = std::stoul(lower.substr(cl + 15));
    while (head_end != std::string::npos && raw.size() < head_end + 4 + content_length) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
    Reply reply;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(raw);
      reply = replies_.empty() ? Reply{} : replies_[std::min(next_, replies_.size() - 1)];
      ++next_;
    }
    bool head_request = raw.rfind("HEAD ", 0) == 0;
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
    for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head_request) out += reply.body;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(fd, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
}

// ---------------------------------------------------------------------------------------------

DroppingListener::DroppingListener() {
  listen_fd_ = listen_on_free_port(0, &port_);
  // Fill the accept queue (backlog 0 still queues one connection) without ever accepting.
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a = loopback(port_);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers_.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

DroppingListener::~DroppingListener() {
  for (int fd : fillers_) ::close(fd);
  ::close(listen_fd_);
}

// ---------------------------------------------------------------------------------------------

TlsServer::TlsServer(const std::string& dir) {
  cert_ = dir + "/proxy-ca.pem";
  std::string key = dir + "/proxy-ca.key";
  backup_doctor::support::ProcessOptions opt;
  opt.timeout = std::chrono::seconds(30);
  auto r = backup_doctor::support::run_process(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", key, "-out", cert_, "-days", "2", "-subj", "/CN=Intercepting Proxy CA",
       "-addext", "subjectAltName=IP:127.0.0.1"},
      opt);
  if (!r.ok()) throw std::runtime_error("openssl req failed: " + r.err);
  // A real S3 endpoint (moto) behind that certificate.
  for (int attempt = 0; attempt < 3 && !process_; ++attempt) {
    port_ = free_port();
    auto p = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"moto_server", "-H", "127.0.0.1", "-p", std::to_string(port_),
                                 "-c", cert_, "-k", key},
        dir + "/moto-tls.log");
    if (wait_for_port(port_, 20'000) && p->running()) process_ = std::move(p);
  }
  if (!process_) throw std::runtime_error("moto_server with TLS did not start");
}

}  // namespace s3test
