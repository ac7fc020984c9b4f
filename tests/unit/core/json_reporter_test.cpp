#include "reporters/reporter.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("the JSON report is versioned and carries every field of every result") {
  auto j = nlohmann::json::parse(render_json(test::sample_report()));
  CHECK(j["report_version"] == 1);
  CHECK(j["tool"]["name"] == "backup-doctor");
  CHECK(j["status"] == "error");
  CHECK(j["exit_code"] == 3);
  CHECK(j["profile"] == "production");
  CHECK(j["counts"]["fail"] == 1);
  CHECK(j["counts"]["skipped"] == 1);
  CHECK(j["started_at"] == "2023-11-14T22:13:20Z");
  REQUIRE(j["results"].size() == 5);
  const auto& first = j["results"][0];
  for (const char* key :
       {"id", "type", "plugin", "status", "severity", "summary", "remediation", "details",
        "metrics", "duration_seconds", "started_at", "tags", "description"})
    CHECK_MESSAGE(first.contains(key), key);
  CHECK(first["metrics"][0]["name"] == "newest_backup_timestamp");
  CHECK(first["metrics"][0]["labels"]["path"] == "/opt/backups/database");
  CHECK(first["details"]["age_seconds"] == 259200);
}
