#include "pg_server.hpp"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace backup_doctor::test::pg {

namespace fs = std::filesystem;

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

SilentListener::SilentListener() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0)
    throw std::runtime_error("SilentListener: bind/listen failed");
  socklen_t len = sizeof a;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}
SilentListener::~SilentListener() {
  close(fd_);
}

namespace {

support::UserIds postgres_user() {
  auto u = support::lookup_user("postgres");
  if (!u) throw std::runtime_error("no 'postgres' account: run scripts/setup (package postgresql)");
  return *u;
}

void append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// Copies the server binaries to <root>/inst so that PostgreSQL, which finds its share directory
// relative to its own executable, reads a share/extension directory without `hidden`.
std::string relocated_install(const fs::path& root, const std::vector<std::string>& hidden) {
  fs::path inst = root / "inst";
  fs::path bin = inst / "lib/postgresql/15/bin";
  fs::create_directories(bin);
  for (const char* prog : {"postgres", "initdb", "pg_ctl"})
    fs::copy_file(kPgBinDir + "/" + prog, bin / prog);
  fs::create_symlink("/usr/lib/postgresql/15/lib", inst / "lib/postgresql/15/lib");
  fs::path share = inst / "share/postgresql/15";
  fs::create_directories(share / "extension");
  for (const auto& e : fs::directory_iterator("/usr/share/postgresql/15"))
    if (e.path().filename() != "extension")
      fs::create_symlink(e.path(), share / e.path().filename());
  for (const auto& e : fs::directory_iterator("/usr/share/postgresql/15/extension")) {
    std::string name = e.path().filename().string();
    bool hide = false;
    for (const auto& h : hidden)
      hide = hide || name == h + ".control" || name.rfind(h + "--", 0) == 0;
    if (!hide) fs::create_symlink(e.path(), share / "extension" / name);
  }
  return bin.string();
}

}  // namespace

PgServer::PgServer(ServerOptions options) : options_(std::move(options)) {
  std::string pattern =
      (fs::temp_directory_path() / ("bd-pg-" + options_.tag + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  auto pg = postgres_user();
  if (chown(root_.c_str(), pg.uid, pg.gid) != 0) throw std::runtime_error("chown failed");
  if (!options_.hide_extensions.empty())
    bin_dir_ = relocated_install(root_, options_.hide_extensions);

  run_as_postgres({bin_dir_ + "/initdb", "-D", data_dir().string(), "--no-sync", "-A", "trust",
                   "-U", "postgres", "-E", "UTF8", "--locale=C"});
  if (options_.ssl) {
    run_as_postgres({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                     "/CN=localhost", "-keyout", (data_dir() / "server.key").string(), "-out",
                     (data_dir() / "server.crt").string()});
  }
  port_ = free_port();
  std::string conf =
      "\n# backup-doctor test cluster\n"
      "listen_addresses = '127.0.0.1'\n"
      "unix_socket_directories = '" +
      root_.string() +
      "'\n"
      "max_connections = 20\nsuperuser_reserved_connections = 3\n"
      "shared_buffers = 16MB\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
      "log_min_messages = warning\n" +
      std::string(options_.ssl ? "ssl = on\n" : "ssl = off\n");
  for (const auto& line : options_.conf) conf += line + "\n";
  append(data_dir() / "postgresql.conf", conf);
  append(data_dir() / "postgresql.conf", "port = " + std::to_string(port_) + "\n");
  std::string hba = options_.hba.empty() ? "local all all trust\n"
                                           "host all all 127.0.0.1/32 scram-sha-256\n"
                                         : options_.hba;
  std::ofstream(data_dir() / "pg_hba.conf", std::ios::trunc) << hba;
  start();

  // The watchdog: stops the server and removes the dir once our end of the pipe closes, which
  // also happens when this process dies without running destructors.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::string pg_ctl = bin_dir_ + "/pg_ctl", data = data_dir().string(), root = root_.string();
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
    for (int fd = 3; fd < 4096; ++fd)
      if (fd != fds[0]) close(fd);
    char c;
    while (read(fds[0], &c, 1) != 0 && errno == EINTR) {
    }
    pid_t stopper = fork();
    if (stopper == 0) {
      if (setgid(pg.gid) != 0 || setuid(pg.uid) != 0) _exit(126);
      execl(pg_ctl.c_str(), "pg_ctl", "-D", data.c_str(), "-m", "immediate", "-w", "stop",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int st = 0;
    waitpid(stopper, &st, 0);
    std::error_code ec;
    fs::remove_all(root, ec);
    _exit(0);
  }
  close(fds[0]);
  watchdog_fd_ = fds[1];
  watchdog_pid_ = pid;
}

PgServer::~PgServer() {
  close_admin();
  if (watchdog_fd_ >= 0) close(watchdog_fd_);
  if (watchdog_pid_ > 0) {
    int st = 0;
    while (waitpid(watchdog_pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

void PgServer::start() {
  for (int attempt = 0;; ++attempt) {
    auto r =
        support::run_process({bin_dir_ + "/pg_ctl", "-D", data_dir().string(), "-l",
                              (root_ / "server.log").string(), "-w", "-t", "60", "-s", "start"},
                             [&] {
                               support::ProcessOptions o;
                               o.as_user = postgres_user();
                               o.cwd = root_.string();
                               o.timeout = std::chrono::seconds(90);
                               return o;
                             }());
    if (r.ok()) return;
    std::ifstream log(root_ / "server.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    // Another process may have taken the port between free_port() and the bind.
    if (attempt < 3 && text.find("could not bind") != std::string::npos) {
      port_ = free_port();
      append(data_dir() / "postgresql.conf", "port = " + std::to_string(port_) + "\n");
      continue;
    }
    throw std::runtime_error("pg_ctl start failed: " + r.describe() + "\n" + r.err + "\n" + text);
  }
}

void PgServer::restart() {
  close_admin();
  run_as_postgres(
      {bin_dir_ + "/pg_ctl", "-D", data_dir().string(), "-m", "immediate", "-w", "-s", "stop"});
  start();
}

support::ProcessResult PgServer::run_as_postgres(const std::vector<std::string>& argv) const {
  support::ProcessOptions o;
  o.as_user = postgres_user();
  o.cwd = root_.string();
  o.timeout = std::chrono::seconds(90);
  auto r = support::run_process(argv, o);
  if (!r.ok())
    throw std::runtime_error(argv[0] + " failed: " + r.describe() + "\n" + r.out + "\n" + r.err);
  return r;
}

PGconn* PgServer::admin(const std::string& db) {
  auto it = admin_.find(db);
  if (it != admin_.end() && PQstatus(it->second) == CONNECTION_OK) return it->second;
  if (it != admin_.end()) {
    PQfinish(it->second);
    admin_.erase(it);
  }
  std::string port = std::to_string(port_), host = socket_dir();
  const char* keys[] = {"host", "port", "user", "dbname", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), "postgres", db.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 0);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string err = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("admin connection failed: " + err);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  admin_[db] = c;
  return c;
}

void PgServer::close_admin() {
  for (auto& [db, c] : admin_) PQfinish(c);
  admin_.clear();
}

void PgServer::exec(const std::string& sql, const std::string& db) {
  query(sql, db);
}

std::string PgServer::query(const std::string& sql, const std::string& db) {
  PGconn* c = admin(db);
  PGresult* res = PQexec(c, sql.c_str());
  auto st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string err = PQresultErrorMessage(res);
    PQclear(res);
    throw std::runtime_error("SQL failed: " + err + "\n" + sql);
  }
  std::string out;
  if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0)
    out = PQgetvalue(res, 0, 0);
  PQclear(res);
  return out;
}

nlohmann::json PgServer::tcp(const std::string& user, const std::string& password,
                             const std::string& db) const {
  nlohmann::json j = {{"host", "127.0.0.1"}, {"port", port_}, {"user", user}, {"dbname", db}};
  if (!password.empty()) j["password"] = password;
  return j;
}

nlohmann::json PgServer::superuser(const std::string& db) const {
  return {{"host", socket_dir()}, {"port", port_}, {"user", "postgres"}, {"dbname", db}};
}

}  // namespace backup_doctor::test::pg
