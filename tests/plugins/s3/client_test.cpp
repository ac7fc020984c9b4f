// The HTTP layer: retries with backoff on throttling, timeouts, what is signed and sent.
#include "client.hpp"

#include "servers.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace backup_doctor::s3;
using s3test::ScriptedServer;

namespace {

ClientConfig config_for(const std::string& endpoint) {
  ClientConfig c;
  c.endpoint = endpoint;
  c.custom_endpoint = true;
  c.path_style = true;
  c.credentials = Credentials{s3test::kTestKeyId, s3test::kTestSecret, "", "test"};
  c.retry_base_delay = std::chrono::milliseconds(10);
  c.timeout = std::chrono::seconds(5);
  return c;
}

std::string slow_down() {
  return "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request "
         "rate.</Message><RequestId>R1</RequestId></Error>";
}

}  // namespace

TEST_CASE("s3 client: 503 SlowDown, 429 and 500 are retried with backoff and reported") {
  ScriptedServer server({{503, {}, slow_down()},
                         {429, {}, ""},
                         {500, {}, "<Error><Code>InternalError</Code></Error>"},
                         {200, {}, "<ListBucketResult/>"}});
  Client client(config_for(server.endpoint()));
  Request req;
  req.operation = "ListObjectsV2";
  req.bucket = "b";
  Response r = client.send(req);
  CHECK(r.ok());
  CHECK(r.attempts == 4);
  REQUIRE(client.retries().size() == 3);
  CHECK(client.retries()[0].code == "SlowDown");
  CHECK(client.retries()[0].status == 503);
  CHECK(client.retries()[1].status == 429);
  CHECK(client.retries()[2].code == "InternalError");
  auto details = client.retry_details();
  CHECK(details["count"] == 3);
  CHECK(details["events"][0]["operation"] == "ListObjectsV2");
  CHECK(server.requests().size() == 4);
}

TEST_CASE("s3 client: retries stop at max_retries, client errors are not retried") {
  SUBCASE("always throttled") {
    ScriptedServer server({{503, {}, slow_down()}});
    auto cfg = config_for(server.endpoint());
    cfg.max_retries = 2;
    Client client(cfg);
    Response r = client.send(Request{});
    CHECK_FALSE(r.ok());
    CHECK(r.status == 503);
    CHECK(r.error.code == "SlowDown");
    CHECK(r.attempts == 3);
    CHECK(server.requests().size() == 3);
  }
  SUBCASE("403 is an answer, not a transient failure") {
    ScriptedServer server({{403, {}, "<Error><Code>AccessDenied</Code></Error>"}});
    Client client(config_for(server.endpoint()));
    Response r = client.send(Request{});
    CHECK(r.attempts == 1);
    CHECK(r.error.code == "AccessDenied");
    CHECK(client.retries().empty());
  }
}

TEST_CASE("s3 client: a server that accepts and never answers hits the request timeout") {
  ScriptedServer hang({}, true);
  auto cfg = config_for(hang.endpoint());
  cfg.timeout = std::chrono::milliseconds(800);
  Client client(cfg);
  auto start = std::chrono::steady_clock::now();
  Response r = client.send(Request{});
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(r.transport_ok());
  CHECK(r.curl_code == 28);  // CURLE_OPERATION_TIMEDOUT
  CHECK(r.timings.connect > 0);
  CHECK(elapsed < std::chrono::seconds(3));
  CHECK(r.attempts == 1);  // timeouts are not retried
}

TEST_CASE("s3 client: requests are signed by libcurl with SigV4, the secret is never sent") {
  ScriptedServer server({{200, {}, "<ListBucketResult/>"}});
  auto cfg = config_for(server.endpoint());
  cfg.credentials->session_token = "session-token-value-123";
  cfg.region = "eu-west-3";
  Client client(cfg);
  Request req;
  req.bucket = "backups";
  req.key = "db/2024 11.sql.gz";
  req.query = {{"prefix", "db/"}, {"list-type", "2"}};
  Response r = client.send(req);
  REQUIRE(r.ok());
  auto raw = server.requests().at(0);
  // Canonical query (sorted, encoded) and path-style, encoded key.
  CHECK(raw.rfind("GET /backups/db/2024%2011.sql.gz?list-type=2&prefix=db%2F HTTP/1.1", 0) == 0);
  CHECK(raw.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7TESTKEY/") !=
        std::string::npos);
  CHECK(raw.find("/eu-west-3/s3/aws4_request") != std::string::npos);
  CHECK(raw.find("x-amz-content-sha256: "
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") !=
        std::string::npos);
  CHECK(raw.find("x-amz-security-token: session-token-value-123") != std::string::npos);
  CHECK(raw.find("x-amz-security-token") < raw.find("\r\n\r\n"));
  auto signed_headers = raw.substr(raw.find("SignedHeaders="));
  CHECK(signed_headers.substr(0, signed_headers.find(',')).find("x-amz-security-token") !=
        std::string::npos);
  CHECK(raw.find(s3test::kTestSecret) == std::string::npos);
}

TEST_CASE("s3 client: virtual-hosted addressing and error documents") {
  ClientConfig cfg;
  cfg.endpoint = "https://s3.eu-west-1.amazonaws.com";
  Client client(cfg);
  CHECK(client.url_for("my-bucket", "a b/c", {{"uploads", ""}}) ==
        "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c?uploads=");
  auto sts = parse_error(
      "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security "
      "token included in the request is expired</Message></Error><RequestId>abc</RequestId>"
      "</ErrorResponse>");
  CHECK(sts.code == "ExpiredToken");
  CHECK(sts.request_id == "abc");
  auto skew = parse_error(
      "<Error><Code>RequestTimeTooSkewed</Code><RequestTime>20240101T000000Z</RequestTime>"
      "<ServerTime>2024-01-01T01:00:00Z</ServerTime><MaxAllowedSkewMilliseconds>900000"
      "</MaxAllowedSkewMilliseconds></Error>");
  CHECK(skew.code == "RequestTimeTooSkewed");
  CHECK(skew.fields.at("ServerTime") == "2024-01-01T01:00:00Z");
  CHECK(parse_error("not xml at all").code.empty());
}
