// s3.reachable tells the failing network step apart: DNS, TCP connect (refused or dropped),
// TLS (untrusted certificate, with its issuer), first byte (server hangs).
#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <chrono>

using backup_doctor::testing::run_check;
using namespace s3test;

namespace {

nlohmann::json step(const backup_doctor::testing::Result& r, const std::string& name) {
  for (const auto& s : r.details["steps"])
    if (s["step"] == name) return s;
  return {};
}

}  // namespace

TEST_CASE("s3.reachable: moto answers, every step timed and exported") {
  backup_doctor::s3::S3Plugin plugin;
  auto r = run_check(plugin, "s3.reachable", {{"endpoint", Moto::get().endpoint()}});
  CHECK_STATUS(r, ok);
  CHECK(step(r, "dns")["status"] == "ok");
  CHECK(step(r, "tcp_connect")["status"] == "ok");
  CHECK(step(r, "tls_handshake")["status"] == "not_applicable");
  CHECK(step(r, "first_byte")["status"] == "ok");
  CHECK(r.details["ip"] == "127.0.0.1");
  CHECK(r.metric("dns_lookup") != nullptr);
  CHECK(r.metric("tcp_connect") != nullptr);
  CHECK(r.metric("first_byte") != nullptr);
  CHECK(r.metric("first_byte")->unit == "seconds");
  CHECK(r.metric("tls_handshake") == nullptr);
}

TEST_CASE("s3.reachable: each failing step is named") {
  backup_doctor::s3::S3Plugin plugin;
  SUBCASE("a server that accepts but never answers: first byte times out") {
    ScriptedServer hang({}, true);
    auto start = std::chrono::steady_clock::now();
    auto r = run_check(plugin, "s3.reachable", {{"endpoint", hang.endpoint()}, {"timeout", "1s"}});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    CHECK_STATUS(r, fail);
    CHECK(step(r, "tcp_connect")["status"] == "ok");
    CHECK(step(r, "first_byte")["status"] == "failed");
    CHECK(r.summary.find("accepted the connection but sent no answer") != std::string::npos);
  }
  SUBCASE("SYNs dropped (full accept queue, like a dropping firewall): connect times out") {
    DroppingListener drop;
    auto start = std::chrono::steady_clock::now();
    auto r = run_check(plugin, "s3.reachable",
                       {{"endpoint", "http://127.0.0.1:" + std::to_string(drop.port())},
                        {"connect_timeout", "1s"},
                        {"timeout", "5s"}});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    CHECK_STATUS(r, fail);
    CHECK(step(r, "tcp_connect")["status"] == "failed");
    CHECK(step(r, "first_byte")["status"] == "not_reached");
    CHECK(r.summary.find("timed out") != std::string::npos);
    CHECK(r.remediation.find("firewall") != std::string::npos);
  }
  SUBCASE("nothing listening: connection refused") {
    int port = free_port();
    auto r = run_check(plugin, "s3.reachable",
                       {{"endpoint", "http://127.0.0.1:" + std::to_string(port)}});
    CHECK_STATUS(r, fail);
    CHECK(step(r, "tcp_connect")["status"] == "failed");
    CHECK(r.summary.find("refused") != std::string::npos);
  }
  SUBCASE("a name that cannot resolve (a 70-character label fails locally, no query sent)") {
    std::string host(70, 'a');
    auto r =
        run_check(plugin, "s3.reachable",
                  {{"endpoint", "http://" + host + ".example:9000"}, {"connect_timeout", "3s"}});
    CHECK_STATUS(r, fail);
    CHECK(step(r, "dns")["status"] == "failed");
    CHECK(step(r, "tcp_connect")["status"] == "not_reached");
    CHECK(r.remediation.find("getent hosts") != std::string::npos);
  }
}

TEST_CASE("s3.reachable: an untrusted certificate is reported with its issuer") {
  backup_doctor::test::TempDir dir("bd-s3-tls");
  TlsServer tls(dir.path().string());
  backup_doctor::s3::S3Plugin plugin;
  std::string endpoint = "https://127.0.0.1:" + std::to_string(tls.port());
  auto r = run_check(plugin, "s3.reachable", {{"endpoint", endpoint}, {"timeout", "5s"}});
  CHECK_STATUS(r, fail);
  CHECK(step(r, "tcp_connect")["status"] == "ok");
  CHECK(step(r, "tls_handshake")["status"] == "failed");
  CHECK(r.summary.find("Intercepting Proxy CA") != std::string::npos);
  CHECK(r.details["certificate"]["issuer"].get<std::string>().find("Intercepting Proxy CA") !=
        std::string::npos);
  CHECK(r.remediation.find("ca_bundle") != std::string::npos);

  // Trusting that CA explicitly makes the same endpoint pass, TLS step timed.
  auto ok = run_check(plugin, "s3.reachable",
                      {{"endpoint", endpoint}, {"ca_bundle", tls.cert_path()}, {"timeout", "5s"}});
  CHECK_STATUS(ok, ok);
  CHECK(step(ok, "tls_handshake")["status"] == "ok");
  CHECK(ok.metric("tls_handshake") != nullptr);
}
