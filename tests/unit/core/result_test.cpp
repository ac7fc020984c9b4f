#include "result.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

static CheckResult with(Status s, Severity sev) {
  CheckResult r;
  r.status = s;
  r.severity = sev;
  return r;
}

TEST_CASE("the overall status is the worst weighted result") {
  RunReport report;
  CHECK(report.overall() == Status::ok);
  report.results = {with(Status::ok, Severity::critical), with(Status::fail, Severity::warning)};
  CHECK(report.overall() == Status::warn);
  report.results.push_back(with(Status::fail, Severity::critical));
  CHECK(report.overall() == Status::fail);
  CHECK(report.count(Status::fail) == 2);
  report.results.push_back(with(Status::error, Severity::critical));
  CHECK(report.overall() == Status::error);
}

TEST_CASE("an interrupted run is never reported as ok") {
  RunReport report;
  report.interrupted = true;
  report.results = {with(Status::ok, Severity::critical)};
  CHECK(report.overall() == Status::error);
}

TEST_CASE("timestamps are ISO 8601 in UTC") {
  CHECK(iso8601(std::chrono::system_clock::from_time_t(0)) == "1970-01-01T00:00:00Z");
}

TEST_CASE("the parameter fingerprint tells equal values from different ones, not their order") {
  nlohmann::json a = {{"host", "db1"}, {"port", 5432}, {"tls", {{"mode", "require"}, {"ca", "x"}}}};
  nlohmann::json b = nlohmann::json::parse(
      R"({"tls": {"ca": "x", "mode": "require"}, "port": 5432, "host": "db1"})");
  CHECK(parameter_fingerprint(a) == parameter_fingerprint(b));
  CHECK(parameter_fingerprint(a).size() == 3);
  b["port"] = "5432";  // a string is not the number
  CHECK(parameter_fingerprint(a).at("port") != parameter_fingerprint(b).at("port"));
  CHECK(parameter_fingerprint(a).at("host") == parameter_fingerprint(b).at("host"));
  CHECK(parameter_fingerprint(nlohmann::json::array()).empty());
  CHECK(parameter_fingerprint(nlohmann::json::object()).empty());
}
