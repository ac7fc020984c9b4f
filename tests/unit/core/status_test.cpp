#include "status.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("statuses and severities round-trip through their names") {
  for (Status s : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
    CHECK(status_from_string(to_string(s)) == s);
  for (Severity s : {Severity::info, Severity::warning, Severity::critical})
    CHECK(severity_from_string(to_string(s)) == s);
  CHECK_FALSE(status_from_string("passed"));
  CHECK_FALSE(severity_from_string("high"));
}

TEST_CASE("severity weighs a result into the overall status") {
  CHECK(weighted(Status::fail, Severity::critical) == Status::fail);
  CHECK(weighted(Status::fail, Severity::warning) == Status::warn);
  CHECK(weighted(Status::fail, Severity::info) == Status::ok);
  CHECK(weighted(Status::error, Severity::warning) == Status::error);
  CHECK(weighted(Status::error, Severity::info) == Status::warn);
  CHECK(weighted(Status::skipped, Severity::critical) == Status::ok);
}

TEST_CASE("exit codes follow the Nagios convention") {
  CHECK(exit_code_for(Status::ok) == 0);
  CHECK(exit_code_for(Status::warn) == 1);
  CHECK(exit_code_for(Status::fail) == 2);
  CHECK(exit_code_for(Status::error) == 3);
  CHECK(rank(Status::error) > rank(Status::fail));
  CHECK(rank(Status::fail) > rank(Status::warn));
  CHECK(rank(Status::skipped) == rank(Status::ok));
}

TEST_CASE("below --fail-on a run counts as ok, at or above it as it is") {
  CHECK(status_under_threshold(Status::warn, Status::warn) == Status::warn);
  CHECK(status_under_threshold(Status::warn, Status::fail) == Status::ok);
  CHECK(status_under_threshold(Status::fail, Status::fail) == Status::fail);
  CHECK(status_under_threshold(Status::fail, Status::error) == Status::ok);
  CHECK(status_under_threshold(Status::error, Status::error) == Status::error);
  CHECK(status_under_threshold(Status::error, Status::warn) == Status::error);
  CHECK(status_under_threshold(Status::ok, Status::warn) == Status::ok);
}
