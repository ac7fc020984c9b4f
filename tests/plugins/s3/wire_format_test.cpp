#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor::s3;
using backup_doctor::sdk::human_size;
using backup_doctor::sdk::iso_time;
using backup_doctor::sdk::shell_quote;

TEST_CASE("s3 wire format: encoding and dates, and the SDK's sizes and quoting as s3 uses them") {
  SUBCASE("uri_encode keeps only unreserved characters, and '/' in paths") {
    CHECK(uri_encode("database/db 2024+x.sql.gz", true) == "database/db%202024%2Bx.sql.gz");
    CHECK(uri_encode("a/b", false) == "a%2Fb");
    CHECK(uri_encode("~-_.", false) == "~-_.");
    CHECK(uri_encode("é", false) == "%C3%A9");
  }
  SUBCASE("S3 and HTTP dates") {
    CHECK(parse_iso8601("2024-11-29T10:00:00.000Z").value() == 1732874400);
    CHECK(parse_iso8601("2024-11-29T10:00:00Z").value() == 1732874400);
    CHECK(parse_iso8601("2024-11-29T12:00:00+02:00").value() == 1732874400);
    CHECK_FALSE(parse_iso8601("yesterday").has_value());
    CHECK(parse_http_date("Fri, 29 Nov 2024 10:00:00 GMT").value() == 1732874400);
    CHECK(iso_time(1732874400) == "2024-11-29T10:00:00Z");
  }
  SUBCASE("sizes as the AWS CLI writes them (parsed by the SDK, tests/unit/sdk/size_test.cpp)") {
    CHECK(human_size(8u << 20) == "8 MiB");
    CHECK(human_size(512) == "512 B");
  }
  SUBCASE("shell quoting for remediation commands") {
    CHECK(shell_quote("database/x.sql.gz") == "database/x.sql.gz");
    CHECK(shell_quote("it's here") == "'it'\\''s here'");
  }
}
