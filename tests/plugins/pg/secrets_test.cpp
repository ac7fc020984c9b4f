// The password given to a check never comes out of it: not in the summary, remediation, details,
// logs or metric labels, not even inside libpq's or a tool's error text.
#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::test::pg;

TEST_CASE("no password appears in any output of any pg check") {
  PgServer& s = main_server();
  // Two dots: glibc rejects it as a host name locally, so no DNS query leaves the machine.
  const std::string secret = "Zq..secret-4471";
  s.exec("DROP ROLE IF EXISTS leak_probe; CREATE ROLE leak_probe LOGIN PASSWORD '" + secret + "'");

  std::vector<nlohmann::json> connections = {
      s.tcp("leak_probe", secret, "postgres"),    // success
      s.tcp("leak_probe", secret, "no_such_db"),  // 3D000
      s.tcp(kBackupUser, secret, "trixtech"),     // 28P01 with this password
      {{"host", secret}, {"password", secret}},   // libpq echoes the host name
      {{"host", "127.0.0.1"}, {"port", free_port()}, {"password", secret}},  // refused
  };
  for (const auto& conn : connections) {
    for (const char* type : {"pg.connect", "pg.connection_headroom", "pg.role", "pg.privileges",
                             "pg.dump_compat", "pg.extensions", "pg.wal_archiving"}) {
      CAPTURE(type);
      CAPTURE(conn.dump());
      auto r = run(type, conn);
      CHECK(r.reported);
      CHECK(all_text(r).find(secret) == std::string::npos);
    }
  }
  // The host-name case really does carry the password in libpq's message (scrubbed to ***).
  auto echoed = run("pg.connect", {{"host", secret}, {"password", secret}});
  CHECK(echoed.details["message"].get<std::string>().find("***") != std::string::npos);

  // A second connection (restore target) and the deep restore's server.
  auto ext = s.tcp(kBackupUser, kBackupPw, "trixtech");
  ext["target"] = {{"host", secret}, {"password", secret}};
  CHECK(all_text(run("pg.extensions", ext)).find(secret) == std::string::npos);
  nlohmann::json deep = {{"path", dumps().custom.string()},
                         {"restore", {{"host", secret}, {"user", "x"}, {"password", secret}}}};
  auto r = run("pg.dump_verify", deep);
  CHECK(r.status == backup_doctor::sdk::Status::error);
  CHECK(all_text(r).find(secret) == std::string::npos);
  s.exec("DROP ROLE leak_probe");
}
