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

TEST_CASE("each result says its group, what it comes after and what caused it") {
  auto report = test::sample_report();
  report.results[0].group = "database";
  report.results[1].after = {"db-fresh"};  // logs: warn, after a failing check
  report.results[2].tags = {"host", "tools"};
  report.results[3].details = {{"blocked_by", {"logs"}}};  // grants, skipped
  auto j = nlohmann::json::parse(render_json(report));
  const auto& results = j["results"];
  // Only fields are added: checklist order, and every field that was there before stays.
  REQUIRE(results.size() == 5);
  CHECK(results[0]["id"] == "db-fresh");
  CHECK(results[0]["group"] == "database");
  CHECK(results[1]["group"] == "other");
  CHECK(results[2]["group"] == "host");  // its first tag
  CHECK(results[0]["after"] == nlohmann::json::array());
  CHECK(results[1]["after"] == nlohmann::json{"db-fresh"});
  CHECK(results[0]["caused_by"].is_null());
  CHECK(results[1]["caused_by"] == "db-fresh");
  CHECK(results[3]["caused_by"] == "logs");
  CHECK(results[4]["caused_by"].is_null());  // ok: never a consequence
}
