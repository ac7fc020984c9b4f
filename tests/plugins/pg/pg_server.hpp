// A throwaway PostgreSQL 15 cluster for the pg plugin's tests: initdb in a temp dir, run as the
// `postgres` account (initdb refuses root), listening on a unix socket in that dir and on a free
// loopback port. A watchdog process stops it and removes the dir when the test process ends,
// even if it crashes.
#pragma once

#include <backup_doctor/support/process.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

typedef struct pg_conn PGconn;

namespace backup_doctor::test::pg {

inline const std::string kPgBinDir = "/usr/lib/postgresql/15/bin";

struct ServerOptions {
  std::string tag = "pg";
  std::vector<std::string> conf;  // extra postgresql.conf lines
  std::string hba;                // pg_hba.conf; default: local trust, TCP scram-sha-256
  bool ssl = false;               // self-signed certificate, ssl = on
  // Run a relocated copy of the server binaries whose share directory lacks these
  // extensions, i.e. a server where they are not available.
  std::vector<std::string> hide_extensions;
};

class PgServer {
 public:
  explicit PgServer(ServerOptions options);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  const std::filesystem::path& dir() const { return root_; }
  std::filesystem::path data_dir() const { return root_ / "data"; }
  std::string socket_dir() const { return root_.string(); }
  int port() const { return port_; }
  std::string bin_dir() const { return bin_dir_; }

  // As the superuser over the unix socket. exec throws on error; query returns the first value.
  void exec(const std::string& sql, const std::string& db = "postgres");
  std::string query(const std::string& sql, const std::string& db = "postgres");

  // Check parameters for a TCP login on 127.0.0.1.
  nlohmann::json tcp(const std::string& user, const std::string& password,
                     const std::string& db) const;
  // Check parameters for the superuser over the unix socket.
  nlohmann::json superuser(const std::string& db = "postgres") const;

  // Runs a program as the postgres account (cwd: the temp dir); throws when it fails.
  support::ProcessResult run_as_postgres(const std::vector<std::string>& argv) const;
  // Stops and starts the server again (immediate mode: the archiver may be stuck).
  void restart();

 private:
  void start();
  PGconn* admin(const std::string& db);
  void close_admin();

  ServerOptions options_;
  std::filesystem::path root_;
  std::string bin_dir_ = kPgBinDir;
  int port_ = 0;
  int watchdog_fd_ = -1;
  int watchdog_pid_ = -1;
  std::map<std::string, PGconn*> admin_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int free_port();

// Accepts TCP connections on 127.0.0.1 (the kernel completes the handshake) but never answers.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace backup_doctor::test::pg
