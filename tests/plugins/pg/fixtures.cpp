#include "fixtures.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

namespace backup_doctor::test::pg {

namespace fs = std::filesystem;

namespace {

void wait_for(PgServer& s, const std::string& condition_sql) {
  for (int i = 0; i < 200; ++i) {
    if (s.query(condition_sql) == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("timed out waiting for: " + condition_sql);
}

void make_archive_dir(PgServer& s, const fs::path& dir) {
  s.run_as_postgres({"mkdir", "-p", dir.string()});
}

void setup_main(PgServer& s) {
  s.exec("CREATE ROLE " + kBackupUser + " LOGIN PASSWORD '" + kBackupPw +
         "';"
         "CREATE ROLE " +
         kNoGrants + " LOGIN PASSWORD '" + kNoGrantsPw +
         "';"
         "CREATE ROLE " +
         kPartial + " LOGIN PASSWORD '" + kPartialPw +
         "';"
         "CREATE ROLE " +
         kExpired + " LOGIN PASSWORD '" + kExpiredPw +
         "' VALID UNTIL '2001-01-01';"
         "CREATE ROLE " +
         kReader + " LOGIN PASSWORD '" + kReaderPw +
         "' IN ROLE pg_read_all_data;"
         "CREATE ROLE " +
         kLimited + " LOGIN PASSWORD '" + kLimitedPw +
         "' CONNECTION LIMIT 0;"
         "CREATE ROLE " +
         kNoLogin +
         " NOLOGIN;"
         "CREATE ROLE " +
         kSslUser + " LOGIN PASSWORD '" + kSslPw +
         "';"
         "CREATE ROLE " +
         kRestorer + " LOGIN CREATEDB PASSWORD '" + kRestorerPw +
         "';"
         "DO $$ BEGIN EXECUTE format('CREATE ROLE " +
         kExpiring + " LOGIN PASSWORD %L VALID UNTIL %L', '" + kExpiringPw +
         "', now() + interval '3 days'); END $$;");
  // CREATE DATABASE cannot share an (implicit) transaction with other statements.
  s.exec("CREATE DATABASE trixtech");
  s.exec("CREATE DATABASE rlsdb");
  s.exec(
      "REVOKE CONNECT ON DATABASE trixtech FROM PUBLIC;"
      "GRANT CONNECT ON DATABASE trixtech TO " +
      kBackupUser + ", " + kPartial + ", " + kExpired + ", " + kExpiring + ", " + kReader + ", " +
      kLimited + ", " + kSslUser + ";");
  s.exec(
      "CREATE SCHEMA booking;"
      "CREATE TABLE public.users (id serial PRIMARY KEY, email text NOT NULL, "
      "  created_at timestamptz DEFAULT now());"
      "CREATE TABLE public.bookings (id bigserial PRIMARY KEY, user_id int REFERENCES users, "
      "  room text, created_at timestamptz DEFAULT now());"
      "CREATE TABLE booking.rooms (id serial PRIMARY KEY, name text);"
      "CREATE TABLE booking.reservations (id serial PRIMARY KEY, room_id int REFERENCES "
      "booking.rooms, day date);"
      "CREATE SEQUENCE booking.ticket_seq;"
      "INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, "
      "2000) g;"
      "INSERT INTO bookings (user_id, room) SELECT (g % 2000) + 1, 'room ' || (g % 50) "
      "  FROM generate_series(1, 5000) g;"
      "INSERT INTO booking.rooms (name) SELECT 'room ' || g FROM generate_series(1, 50) g;"
      "INSERT INTO booking.reservations (room_id, day) SELECT (g % 50) + 1, date '2024-01-01' + g "
      "% 365 "
      "  FROM generate_series(1, 3000) g;"
      "CREATE EXTENSION pg_trgm;"
      "GRANT USAGE ON SCHEMA public, booking TO " +
          kBackupUser + ", " + kExpired + ", " + kExpiring +
          ";"
          "GRANT SELECT ON ALL TABLES IN SCHEMA public, booking TO " +
          kBackupUser + ", " + kExpired + ", " + kExpiring +
          ";"
          "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, booking TO " +
          kBackupUser + ", " + kExpired + ", " + kExpiring +
          ";"
          "GRANT SELECT ON public.users TO " +
          kPartial + ";",
      "trixtech");
  s.exec(
      "CREATE TABLE public.payments (id int, owner text);"
      "ALTER TABLE public.payments ENABLE ROW LEVEL SECURITY;"
      "CREATE POLICY own ON public.payments USING (owner = current_user);",
      "rlsdb");
  // For the WAL tests, which complete segments by writing here and switching.
  s.exec("CREATE TABLE wal_filler (x int)");
}

}  // namespace

fs::path wal_archive_dir() {
  return main_server().dir() / "wal_archive";
}

PgServer& main_server() {
  static std::unique_ptr<PgServer> server = [] {
    ServerOptions o;
    o.tag = "main";
    o.ssl = true;
    o.hba =
        "local all all trust\n"
        "hostnossl all " +
        kSslUser +
        " 127.0.0.1/32 reject\n"
        "host all all 127.0.0.1/32 scram-sha-256\n";
    // The archive directory lives in the cluster's temp dir; %p/%f are filled in by the server.
    o.conf = {"archive_mode = on",
              "archive_command = 'test ! -f ../wal_archive/%f && cp %p ../wal_archive/%f'"};
    auto s = std::make_unique<PgServer>(o);
    make_archive_dir(*s, s->dir() / "wal_archive");
    setup_main(*s);
    return s;
  }();
  return *server;
}

fs::path second_archive_dir() {
  return second_server().dir() / "wal_archive";
}

PgServer& second_server() {
  static std::unique_ptr<PgServer> server = [] {
    ServerOptions o;
    o.tag = "second";
    o.hide_extensions = {"pg_trgm"};
    o.conf = {"archive_mode = on", "archive_command = 'false'"};
    auto s = std::make_unique<PgServer>(o);
    make_archive_dir(*s, s->dir() / "wal_archive");
    s->exec("CREATE TABLE wal_filler (x int); INSERT INTO wal_filler VALUES (1);");
    s->exec("SELECT pg_switch_wal()");
    wait_for(*s, "SELECT failed_count > 0 FROM pg_stat_archiver");
    return s;
  }();
  return *server;
}

const Dumps& dumps() {
  static const Dumps d = [] {
    PgServer& s = main_server();
    Dumps d;
    fs::path dir = s.dir() / "dumps";
    fs::create_directories(dir);
    auto pg_dump = [&](std::vector<std::string> extra, const fs::path& out) {
      std::vector<std::string> argv = {kPgBinDir + "/pg_dump",
                                       "-h",
                                       s.socket_dir(),
                                       "-p",
                                       std::to_string(s.port()),
                                       "-U",
                                       "postgres",
                                       "-d",
                                       "trixtech",
                                       "-f",
                                       out.string()};
      argv.insert(argv.end(), extra.begin(), extra.end());
      auto r = support::run_process(argv);
      if (!r.ok()) throw std::runtime_error("pg_dump failed: " + r.err);
    };
    d.custom = dir / "trixtech.dump";
    d.plain = dir / "trixtech.sql";
    d.plain_gz = dir / "trixtech.sql.gz";
    d.tar = dir / "trixtech.tar";
    d.directory = dir / "trixtech.dir";
    d.schema_only = dir / "trixtech_schema.dump";
    d.with_create = dir / "trixtech_create.sql";
    pg_dump({"-Fc"}, d.custom);
    pg_dump({"-Fp"}, d.plain);
    pg_dump({"-Fp", "-Z", "6"}, d.plain_gz);
    pg_dump({"-Ft"}, d.tar);
    pg_dump({"-Fd"}, d.directory);
    // As a backup job running as postgres would leave it (0700, its own): pg_restore reads a
    // directory dump by name, as the check's `run_as` account.
    auto pg = support::lookup_user("postgres");
    auto chown_to_postgres = [&](const fs::path& p) {
      if (chown(p.c_str(), pg->uid, pg->gid) != 0) throw std::runtime_error("chown failed");
    };
    chown_to_postgres(d.directory);
    for (const auto& e : fs::directory_iterator(d.directory)) chown_to_postgres(e.path());
    pg_dump({"-Fc", "--schema-only"}, d.schema_only);
    pg_dump({"-Fp", "--create"}, d.with_create);

    auto truncate_copy = [](const fs::path& from, const fs::path& to, double fraction) {
      std::ifstream in(from, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream(to, std::ios::binary)
          << data.substr(0, static_cast<size_t>(data.size() * fraction));
    };
    d.truncated_custom = dir / "trixtech.truncated.dump";
    d.truncated_plain = dir / "trixtech.truncated.sql";
    d.truncated_gz = dir / "trixtech.truncated.sql.gz";
    truncate_copy(d.custom, d.truncated_custom, 0.6);
    truncate_copy(d.plain, d.truncated_plain, 0.5);
    truncate_copy(d.plain_gz, d.truncated_gz, 0.5);

    d.custom_gz = dir / "trixtech.dump.gz";
    auto gz = support::run_process({"gzip", "-c", d.custom.string()});
    if (!gz.ok()) throw std::runtime_error("gzip failed: " + gz.err);
    std::ofstream(d.custom_gz, std::ios::binary) << gz.out;

    d.not_a_dump = dir / "latest.sql";
    std::ofstream(d.not_a_dump) << "pg_dump: error: connection to server failed\n";
    return d;
  }();
  return d;
}

std::string all_text(const backup_doctor::testing::Result& r) {
  std::string s = r.summary + "\n" + r.remediation + "\n" + r.details.dump() + "\n" + r.error;
  for (const auto& l : r.logs) s += "\n" + l;
  for (const auto& m : r.metrics) s += "\n" + m.name + m.unit + m.labels.dump();
  return s;
}

backup_doctor::testing::Result run(const std::string& type, const nlohmann::json& params) {
  backup_doctor::pg::PgPlugin plugin;
  return backup_doctor::testing::run_check(plugin, type, params);
}

}  // namespace backup_doctor::test::pg
