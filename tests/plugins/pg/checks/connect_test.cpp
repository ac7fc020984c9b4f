#include "fixtures.hpp"
#include "support/child.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

std::string kind(const backup_doctor::testing::Result& r) {
  return r.details.value("failure_kind", std::string());
}

// Runs pg.connect in a child process inside a network namespace of its own: no interface but a
// down loopback, plus whatever `setup` (ip commands) adds. That gives real unreachable networks
// and black holes without touching the machine's network. Returns the result as JSON, with the
// wall time in "seconds", or {"setup_error": ...}.
nlohmann::json connect_in_private_network(const std::string& setup, const nlohmann::json& params) {
  return backup_doctor::test::run_in_child([&]() -> nlohmann::json {
    if (::unshare(CLONE_NEWNET) != 0)
      return {{"setup_error", std::string("unshare: ") + std::strerror(errno)}};
    if (!setup.empty() && std::system(setup.c_str()) != 0)
      return {{"setup_error", "failed: " + setup}};
    auto started = std::chrono::steady_clock::now();
    auto r = run("pg.connect", params);
    return {{"status", static_cast<int>(r.status)},
            {"kind", kind(r)},
            {"summary", r.summary},
            {"all_text", all_text(r)},
            {"seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
  });
}

}  // namespace

TEST_CASE("pg.connect tells an unreachable network from a black hole") {
  nlohmann::json params = {{"host", "10.98.0.1"},
                           {"port", 5432},
                           {"user", "x"},
                           {"password", kBackupPw},
                           {"connect_timeout", "1s"}};
  SUBCASE("no route at all: unreachable at once") {
    auto out = connect_in_private_network("", params);
    INFO(out.dump());
    REQUIRE_FALSE(out.contains("setup_error"));
    CHECK(out["status"] == static_cast<int>(Status::fail));
    CHECK(out["kind"] == "host_unreachable");
    CHECK(out["summary"].get<std::string>().find("10.98.0.1 is unreachable") != std::string::npos);
    CHECK(out["seconds"].get<double>() < 0.9);
    CHECK(out["all_text"].get<std::string>().find(kBackupPw) == std::string::npos);
  }
  SUBCASE("a route into a device that drops everything: the TCP connect times out") {
    // A veth pair whose far end has no address, and a fixed neighbour entry so no ARP is
    // needed: SYNs leave and vanish, as behind a firewall that drops them.
    auto out = connect_in_private_network(
        "ip link add bh0 type veth peer name bh1 && ip link set bh0 up && ip link set bh1 up && "
        "ip addr add 10.98.0.2/16 dev bh0 && "
        "ip neigh add 10.98.0.1 lladdr 02:00:00:00:00:01 dev bh0 nud permanent",
        params);
    INFO(out.dump());
    REQUIRE_FALSE(out.contains("setup_error"));
    CHECK(out["status"] == static_cast<int>(Status::fail));
    CHECK(out["kind"] == "timeout_tcp");
    CHECK(out["seconds"].get<double>() >= 0.95);
    CHECK(out["seconds"].get<double>() < 1.5);
  }
}

TEST_CASE("pg.connect honours connect_timeout against a listener that never answers") {
  SilentListener silent;
  auto started = std::chrono::steady_clock::now();
  auto r = run("pg.connect", {{"host", "127.0.0.1"},
                              {"port", silent.port()},
                              {"user", "x"},
                              {"password", kBackupPw},
                              {"connect_timeout", "1s"}});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(r.status == Status::fail);
  CHECK(kind(r) == "timeout_server");
  CHECK(r.summary.find("did not answer within 1s") != std::string::npos);
  CHECK(secs >= 0.95);
  CHECK(secs < 1.5);
  CHECK(all_text(r).find(kBackupPw) == std::string::npos);
}

TEST_CASE("pg.connect tells connection failures apart") {
  PgServer& s = main_server();
  std::string db = "trixtech";
  // Files libpq reads as root must be where only root can change them (not in s.dir(), which
  // the postgres account owns).
  backup_doctor::test::TempDir own("bd-pg-conf");

  SUBCASE("success over TCP reports version, latency, SSL and the role's attributes") {
    auto r = run("pg.connect", s.tcp(kBackupUser, kBackupPw, db));
    REQUIRE(r.status == Status::ok);
    CHECK(r.details["server_version_num"].get<int>() >= 150000);
    CHECK(r.details["ssl"] == true);
    CHECK(r.details["role"]["super"] == false);
    CHECK(r.details["user"] == kBackupUser);
    REQUIRE(r.metric("pg_connect_latency") != nullptr);
    CHECK(r.metric("pg_connect_latency")->unit == "seconds");
    CHECK(r.summary.find("Connected to 127.0.0.1:") == 0);
  }
  SUBCASE("success over the unix socket as a superuser") {
    auto r = run("pg.connect", s.superuser());
    REQUIRE(r.status == Status::ok);
    CHECK(r.details["role"]["super"] == true);
    CHECK(r.details["ssl"] == false);
  }
  SUBCASE("the password can come from a password file, as libpq reads it") {
    auto pass = own / "test.pgpass";
    std::ofstream(pass) << "127.0.0.1:" << s.port() << ":" << db << ":" << kBackupUser << ":"
                        << kBackupPw << "\n";
    std::filesystem::permissions(
        pass, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto params = s.tcp(kBackupUser, "", db);
    params["passfile"] = pass.string();
    CHECK(run("pg.connect", params).status == Status::ok);
  }
  SUBCASE("slower than warn_latency warns") {
    auto params = s.tcp(kBackupUser, kBackupPw, db);
    params["warn_latency"] = "0ms";
    auto r = run("pg.connect", params);
    CHECK(r.status == Status::warn);
    CHECK(!r.remediation.empty());
  }
  SUBCASE("server down: connection refused") {
    auto r = run("pg.connect", {{"host", "127.0.0.1"},
                                {"port", free_port()},
                                {"user", kBackupUser},
                                {"password", kBackupPw}});
    CHECK(r.status == Status::fail);
    CHECK(kind(r) == "connection_refused");
    CHECK(r.remediation.find("pg_isready") != std::string::npos);
  }
  SUBCASE("server down: no socket file") {
    auto r =
        run("pg.connect",
            {{"host", (s.dir() / "dumps-none").string()}, {"port", 5432}, {"user", kBackupUser}});
    CHECK(kind(r) == "socket_missing");
  }
  SUBCASE("host name that does not resolve") {
    // An empty label makes glibc refuse the name locally: no DNS query leaves the machine.
    auto r = run("pg.connect", {{"host", "no-such-host..invalid"}, {"user", kBackupUser}});
    CHECK(r.status == Status::fail);
    CHECK(kind(r) == "name_not_resolved");
    CHECK(r.remediation.find("getent hosts no-such-host..invalid") != std::string::npos);
  }
  SUBCASE("wrong password: 28P01") {
    auto r = run("pg.connect", s.tcp(kBackupUser, "wrong-password-x", db));
    CHECK(kind(r) == "authentication_failed");
    CHECK(r.details["sqlstate"] == "28P01");
    CHECK(r.remediation.find("rolvaliduntil") != std::string::npos);
    CHECK(all_text(r).find("wrong-password-x") == std::string::npos);
  }
  SUBCASE("expired password: 28P01 as well") {
    auto r = run("pg.connect", s.tcp(kExpired, kExpiredPw, db));
    CHECK(kind(r) == "authentication_failed");
    CHECK(r.details["sqlstate"] == "28P01");
  }
  SUBCASE("no password supplied") {
    auto params = s.tcp(kBackupUser, "", db);
    params["passfile"] = (own / "no-such-pgpass").string();
    auto r = run("pg.connect", params);
    CHECK(kind(r) == "no_password");
    CHECK(r.remediation.find(".pgpass") != std::string::npos);
  }
  SUBCASE("a password or key file another account could change or create is refused") {
    for (const char* key : {"passfile", "sslkey", "sslrootcert"}) {
      CAPTURE(key);
      auto params = s.tcp(kBackupUser, "", db);
      params[key] = (s.dir() / "pgpass").string();  // not there yet: postgres could make it
      auto r = run("pg.connect", params);
      CHECK(r.status == Status::error);
      CHECK(r.summary.find(std::string("`") + key + "` " + (s.dir() / "pgpass").string() +
                           " is not safe to read as root") == 0);
      CHECK(r.summary.find("owned by postgres") != std::string::npos);
      CHECK(r.remediation.find("FIFO") != std::string::npos);
    }
    auto fine = s.tcp(kBackupUser, kBackupPw, db);
    fine["passfile"] = own.write("pgpass", "# none\n").string();
    CHECK(run("pg.connect", fine).status == Status::ok);
  }
  SUBCASE("role does not exist: 28000") {
    auto r = run("pg.connect", s.tcp("nobody_here", "x-pw-123", db));
    // scram-sha-256 hides whether the role exists: it fails like a wrong password.
    CHECK(r.status == Status::fail);
    CHECK((kind(r) == "authentication_failed" || kind(r) == "role_missing"));
    auto via_socket = s.superuser(db);
    via_socket["user"] = "nobody_here";
    auto r2 = run("pg.connect", via_socket);
    CHECK(kind(r2) == "role_missing");
    CHECK(r2.details["sqlstate"] == "28000");
    CHECK(r2.remediation.find("CREATE ROLE nobody_here LOGIN") != std::string::npos);
  }
  SUBCASE("role with NOLOGIN") {
    auto params = s.superuser(db);
    params["user"] = kNoLogin;
    auto r = run("pg.connect", params);
    CHECK(kind(r) == "login_not_permitted");
    CHECK(r.remediation.find("ALTER ROLE backup_nologin LOGIN;") != std::string::npos);
  }
  SUBCASE("database missing: 3D000") {
    auto r = run("pg.connect", s.tcp(kBackupUser, kBackupPw, "no_such_db"));
    CHECK(kind(r) == "database_missing");
    CHECK(r.details["sqlstate"] == "3D000");
  }
  SUBCASE("no CONNECT privilege: 42501") {
    auto r = run("pg.connect", s.tcp(kNoGrants, kNoGrantsPw, db));
    CHECK(kind(r) == "no_connect_privilege");
    CHECK(r.remediation.find("GRANT CONNECT ON DATABASE trixtech TO backup_nogrants;") !=
          std::string::npos);
  }
  SUBCASE("too many connections: 53300") {
    auto r = run("pg.connect", s.tcp(kLimited, kLimitedPw, db));
    CHECK(kind(r) == "too_many_connections");
    CHECK(r.details["sqlstate"] == "53300");
    CHECK(r.remediation.find("CONNECTION LIMIT") != std::string::npos);
  }
  SUBCASE("SSL required by pg_hba.conf, disabled by sslmode") {
    auto params = s.tcp(kSslUser, kSslPw, db);
    params["sslmode"] = "disable";
    auto r = run("pg.connect", params);
    CHECK(kind(r) == "ssl_required");
    params["sslmode"] = "require";
    CHECK(run("pg.connect", params).status == Status::ok);
  }
  SUBCASE("SSL required by sslmode, not offered by the server") {
    PgServer& plain = second_server();
    auto params = plain.tcp("postgres", "irrelevant-pw", "postgres");
    params["sslmode"] = "require";
    auto r = run("pg.connect", params);
    CHECK(kind(r) == "ssl_refused");
  }
  SUBCASE("certificate verification failure") {
    auto params = s.tcp(kBackupUser, kBackupPw, db);
    params["sslmode"] = "verify-full";
    params["sslrootcert"] = (own / "no-such-ca.crt").string();
    auto r = run("pg.connect", params);
    CHECK(kind(r) == "ssl_error");
  }
}

namespace {

// An IPv4 address of this host that is not loopback (eth0's), or "".
std::string non_loopback_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    char buf[INET_ADDRSTRLEN];
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf)) found = buf;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

TEST_CASE("a password sent to a server that is not verified is said so") {
  std::string address = non_loopback_address();
  REQUIRE_MESSAGE(!address.empty(), "this test needs a non-loopback IPv4 address");
  ServerOptions o;
  o.tag = "remote";
  o.ssl = true;
  o.conf = {"listen_addresses = '127.0.0.1, " + address + "'"};
  o.hba = "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n";
  PgServer s(o);
  s.exec("CREATE ROLE far_user LOGIN PASSWORD 'Far-Pw-5521'");
  auto params = s.tcp("far_user", "Far-Pw-5521", "postgres");
  params["host"] = address;

  // sslmode prefer (libpq's default): SSL is used here, but nothing proves who answered.
  auto r = run("pg.connect", params);
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find(", but sslmode prefer does not verify the server") != std::string::npos);
  CHECK(r.summary.find("(" + address + ")") != std::string::npos);
  CHECK(r.remediation.find("verify-full") != std::string::npos);
  CHECK(r.details["ssl"] == true);
  params["sslmode"] = "disable";
  CHECK(run("pg.connect", params).summary.find("without encryption") != std::string::npos);
  params["sslmode"] = "require";
  CHECK(run("pg.connect", params).summary.find("encrypts but does not verify") !=
        std::string::npos);
  // Other checks keep their own result and carry the note.
  params.erase("sslmode");
  auto role = run("pg.role", params);
  CHECK(role.status == Status::ok);
  CHECK(role.details["password_exposure"].get<std::string>().find("does not verify") !=
        std::string::npos);
  CHECK(all_text(role).find("Far-Pw-5521") == std::string::npos);
  // Loopback, or a unix socket, is not at risk.
  auto local = s.tcp("far_user", "Far-Pw-5521", "postgres");
  CHECK(run("pg.connect", local).status == Status::ok);
  CHECK(!run("pg.role", local).details.contains("password_exposure"));
}
