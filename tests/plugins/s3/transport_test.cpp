// Plain http to a store on another host: the session token, the requests and the answers
// travel in clear and the answers can be forged, so the checks say so (a signed check that
// would pass warns). A second moto_server listens on this host's own non-loopback address.
#include "diagnosis.hpp"
#include "fixtures.hpp"
#include "s3_plugin.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <backup_doctor/support/process.hpp>
#include "support/temp_dir.hpp"

using backup_doctor::s3::plaintext_endpoint;
using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

namespace {

// This host's first non-loopback IPv4 address.
std::string own_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

TEST_CASE("plaintext_endpoint: plain http to another host, not to this one's loopback") {
  CHECK(plaintext_endpoint("http://minio.internal:9000/bucket") == "http://minio.internal:9000");
  CHECK(plaintext_endpoint("http://10.1.2.3") == "http://10.1.2.3");
  CHECK(plaintext_endpoint("http://[fd00::5]:9000") == "http://[fd00::5]:9000");
  CHECK(plaintext_endpoint("http://127.0.0.1:5000").empty());
  CHECK(plaintext_endpoint("http://LOCALHOST:5000").empty());
  CHECK(plaintext_endpoint("http://[::1]:5000").empty());
  CHECK(plaintext_endpoint("https://s3.eu-west-1.amazonaws.com").empty());
}

TEST_CASE("s3 checks against plain http on another host say so; a signed one warns") {
  std::string address = own_address();
  REQUIRE_MESSAGE(!address.empty(), "this host has no non-loopback IPv4 address");
  backup_doctor::test::TempDir dir("bd-s3-plain");
  int port = free_port();
  BackgroundProcess moto({"moto_server", "-H", "0.0.0.0", "-p", std::to_string(port)},
                         (dir.path() / "moto.log").string());
  REQUIRE(wait_for_port(port, 20'000));
  std::string endpoint = "http://" + address + ":" + std::to_string(port);
  auto made = backup_doctor::support::run_process(
      {"curl", "-s", "-f", "-X", "PUT", endpoint + "/plainbucket"});
  REQUIRE_MESSAGE(made.ok(), made.err);

  backup_doctor::s3::S3Plugin plugin;
  json p = Moto::get().params("plainbucket");
  p["endpoint"] = endpoint;
  auto usage = run_check(plugin, "s3.usage", p);
  CHECK_STATUS(usage, warn);
  CHECK(usage.summary.find("0 objects under s3://plainbucket/") != std::string::npos);
  CHECK(usage.summary.find("over plain http") != std::string::npos);
  CHECK(usage.summary.find("session token") != std::string::npos);
  CHECK(usage.remediation.find("https://") != std::string::npos);
  CHECK(usage.details["plaintext_endpoints"][0] == endpoint);
  check_no_secret(usage);

  // Unsigned (no credentials): the status stays, the note is there.
  auto reach = run_check(plugin, "s3.reachable", {{"endpoint", endpoint}, {"timeout", "10s"}});
  CHECK_STATUS(reach, ok);
  CHECK(reach.summary.find("(over plain http to " + endpoint + ")") != std::string::npos);

  // The same store through loopback: nothing to say.
  p["endpoint"] = "http://127.0.0.1:" + std::to_string(port);
  auto local = run_check(plugin, "s3.usage", p);
  CHECK_STATUS(local, ok);
  CHECK_FALSE(local.details.contains("plaintext_endpoints"));
}
