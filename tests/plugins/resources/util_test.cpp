#include "util.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/testing.hpp>

using namespace backup_doctor::resources;
using backup_doctor::sdk::Status;

TEST_CASE("parse_size reads binary and decimal units") {
  CHECK(parse_size("123") == 123u);
  CHECK(parse_size("123B") == 123u);
  CHECK(parse_size("1K") == 1024u);
  CHECK(parse_size("1.5KiB") == 1536u);
  CHECK(parse_size("10G") == 10ull * 1024 * 1024 * 1024);
  CHECK(parse_size("10 GiB") == 10ull * 1024 * 1024 * 1024);
  CHECK(parse_size("2TB") == 2'000'000'000'000ull);
  CHECK(parse_size("500m") == 500ull * 1024 * 1024);
  CHECK_FALSE(parse_size("").has_value());
  CHECK_FALSE(parse_size("ten").has_value());
  CHECK_FALSE(parse_size("10X").has_value());
  CHECK_FALSE(parse_size("10Gx").has_value());
}

TEST_CASE("human_size and fixed1 format for messages") {
  CHECK(human_size(812) == "812 B");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(10.0 * 1024 * 1024 * 1024) == "10 GiB");
  CHECK(human_size(-5.0) == "0 B");  // a negative difference is never shown as a huge size
  CHECK(fixed1(12.345) == "12.3");
}

TEST_CASE("Verdict: worst status wins, fail first in the summary") {
  Verdict v;
  CHECK(v.status() == Status::ok);
  v.warn("a warning", "fix a");
  CHECK(v.status() == Status::warn);
  v.fail("a failure", "fix b");
  CHECK(v.status() == Status::fail);
  v.not_evaluated("no PSI");
  CHECK(v.status() == Status::fail);

  Verdict only_skip;
  only_skip.not_evaluated("no PSI");
  CHECK(only_skip.status() == Status::skipped);
}
