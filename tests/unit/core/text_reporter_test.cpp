#include "reporters/reporter.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("text output puts problems first with what to do under each, under the group's name") {
  auto text = render_text(test::sample_report(), {});
  // By status (fail, error, warn, skipped, ok), not in checklist order: the checklist has
  // db-fresh, logs, tools, grants, dir. None names a group or has a tag: all are "other".
  CHECK(text ==
        "backup-doctor: nightly <prod> & \"co\" (profile production)\n"
        "\n"
        "other: FAIL\n"
        "  FAIL  db-fresh  newest *.sql.gz is 3d old (limit 25h)\n"
        "                  -> Find out why the nightly dump stopped:\n"
        "                     look at /var/log/backup/db_backup.log\n"
        "  ERROR tools     the check crashed\n"
        "                  -> Report it to the plugin authors.\n"
        "  WARN  logs      2 error lines in db_backup.log\n"
        "                  -> Read lines 10 and 12 | then fix\n"
        "  SKIP  grants    skipped: it needs 'connect', which ended with status fail\n"
        "  OK    dir       /opt/backups exists\n"
        "\n"
        "5 checks: 1 ok, 1 warning, 1 failure, 1 error, 1 skipped in 1.23s - overall ERROR\n");
}

TEST_CASE("--group none: one flat list by status, as before groups existed") {
  auto report = test::sample_report();
  report.results[0].group = "database";
  report.results[1].group = "files";
  report.results[1].after = {"db-fresh"};
  RenderOptions flat;
  flat.group_by_set = false;
  CHECK(render_text(report, flat) ==
        "backup-doctor: nightly <prod> & \"co\" (profile production)\n"
        "\n"
        "FAIL  db-fresh  newest *.sql.gz is 3d old (limit 25h)\n"
        "                -> Find out why the nightly dump stopped:\n"
        "                   look at /var/log/backup/db_backup.log\n"
        "ERROR tools     the check crashed\n"
        "                -> Report it to the plugin authors.\n"
        "WARN  logs      2 error lines in db_backup.log\n"
        "                -> Read lines 10 and 12 | then fix\n"
        "SKIP  grants    skipped: it needs 'connect', which ended with status fail\n"
        "OK    dir       /opt/backups exists\n"
        "\n"
        "5 checks: 1 ok, 1 warning, 1 failure, 1 error, 1 skipped in 1.23s - overall ERROR\n");
}

namespace {

// The demo's database story, in small: a full disk, the truncated dump it caused, the size
// warning that follows, the stale offsite copy, and an error of the same server's other check.
RunReport diagnosis_report() {
  RunReport report;
  report.checklist_name = "nightly";
  report.duration = std::chrono::milliseconds(500);
  auto add = [&](std::string id, Status s, std::string group, std::string summary,
                 std::string remediation) -> CheckResult& {
    CheckResult r;
    r.id = std::move(id);
    r.status = s;
    r.group = std::move(group);
    r.plugin = "files";
    r.summary = std::move(summary);
    r.remediation = std::move(remediation);
    report.results.push_back(std::move(r));
    return report.results.back();
  };
  add("disk", Status::ok, "host", "40% free", "");
  add("log", Status::fail, "database", "No space left on device at line 8", "Free space.");
  add("dump", Status::fail, "database", "dump truncated", "Take a new dump.").after = {"log"};
  add("fresh", Status::warn, "database", "0.02x the median size", "Test it.").after = {"dump"};
  add("s3", Status::fail, "offsite", "3d old", "Upload again.").after = {"fresh"};
  add("s3-auth", Status::ok, "offsite", "accepted", "");
  add("connect", Status::fail, "database", "server down", "Start the server.").plugin = "pg";
  add("role", Status::error, "database", "server down", "Start the server.").plugin = "pg";
  for (auto& r : report.results)
    r.param_fingerprint = parameter_fingerprint({{"host", r.plugin == "pg" ? "db1" : r.id}});
  add("tools", Status::fail, "host", "missing: aws", "Install it.");
  add("labels", Status::skipped, "host", "skipped: it needs 'tools'", "").details = {
      {"blocked_by", {"tools"}}};
  add("cpu", Status::ok, "host", "load 0.3", "");
  return report;
}

}  // namespace

TEST_CASE("consequences are indented under their causes, groups worst first") {
  CHECK(render_text(diagnosis_report(), {}) ==
        "backup-doctor: nightly\n"
        "\n"
        "database: FAIL\n"
        "  FAIL  log          No space left on device at line 8\n"
        "                     -> Free space.\n"
        "  \\_ FAIL  dump      dump truncated\n"
        "                     -> Take a new dump.\n"
        "     \\_ WARN  fresh  0.02x the median size\n"
        "                     -> Test it.\n"
        "        \\_ FAIL  s3  3d old  (group offsite)\n"
        "                     -> Upload again.\n"
        "  FAIL  connect      server down\n"
        "                     -> Start the server.\n"
        "  \\_ ERROR role      server down\n"
        "                     -> the same as for connect above\n"
        "\n"
        "host: FAIL\n"
        "  FAIL  tools        missing: aws\n"
        "                     -> Install it.\n"
        "  \\_ SKIP  labels    skipped: it needs 'tools'\n"
        "  OK    disk         40% free\n"
        "  OK    cpu          load 0.3\n"
        "\n"
        "offsite: OK\n"
        "  OK    s3-auth      accepted\n"
        "\n"
        "11 checks: 3 ok, 1 warning, 5 failures, 1 error, 1 skipped in 0.50s - overall ERROR\n");
}

TEST_CASE("a deep chain keeps its indentation within the screen") {
  RunReport report;
  for (int i = 0; i < 12; ++i) {
    CheckResult r;
    r.id = "c" + std::to_string(i);
    r.status = Status::fail;
    if (i > 0) r.after = {"c" + std::to_string(i - 1)};
    report.results.push_back(r);
  }
  auto text = render_text(report, {});
  // Level 8 is 2 + 3 * 7 spaces in; deeper ones stay there.
  std::string level8 = "\n" + std::string(23, ' ') + "\\_ FAIL  ";
  CHECK(text.find(level8 + "c7") == std::string::npos);
  CHECK(text.find(level8 + "c8 ") != std::string::npos);
  CHECK(text.find(level8 + "c11 ") != std::string::npos);
  CHECK(text.find(std::string(24, ' ') + "\\_") == std::string::npos);
}

TEST_CASE("colour in the grouped report marks statuses and group names only when asked for") {
  RenderOptions o;
  o.color = true;
  auto text = render_text(diagnosis_report(), o);
  CHECK(text.find("\033[1mdatabase\033[0m: \033[31mFAIL\033[0m\n") != std::string::npos);
  CHECK(text.find("  \\_ \033[35mERROR") != std::string::npos);
  CHECK(render_text(diagnosis_report(), {}).find('\033') == std::string::npos);
}

TEST_CASE("within a status group, results keep their checklist order") {
  auto report = test::sample_report();
  report.results[1].status = Status::fail;  // logs, after db-fresh in the checklist
  std::swap(report.results[0], report.results[1]);
  auto text = render_text(report, {});
  auto logs = text.find("FAIL  logs"), db = text.find("FAIL  db-fresh");
  REQUIRE(logs != std::string::npos);
  REQUIRE(db != std::string::npos);
  CHECK(logs < db);
}

TEST_CASE("the total counts with the right plural") {
  RunReport one;
  one.results.resize(1);
  one.results[0].id = "a";
  one.results[0].status = Status::ok;
  auto text = render_text(one, {});
  CHECK(text.substr(text.rfind("\n\n") + 2) ==
        "1 check: 1 ok, 0 warnings, 0 failures, 0 errors, 0 skipped in 0.00s - overall OK\n");
  auto report = test::sample_report();
  report.results.push_back(report.results[0]);
  report.results.push_back(report.results[1]);
  report.results.push_back(report.results[2]);
  report.results.push_back(report.results[3]);
  report.results.push_back(report.results[4]);
  CHECK(render_text(report, {})
            .find("10 checks: 2 ok, 2 warnings, 2 failures, 2 errors, 2 skipped in 1.23s") !=
        std::string::npos);
}

TEST_CASE("colour only when asked for") {
  RenderOptions o;
  o.color = true;
  CHECK(render_text(test::sample_report(), o).find("\033[31mFAIL") != std::string::npos);
}

TEST_CASE("verbose text shows details of problems as key: value lines, nested ones indented") {
  auto report = test::sample_report();
  report.results[0].details = {
      {"age_seconds", 259200},
      {"newest", {{"path", "/opt/backups/db.sql.gz"}, {"size", 1024}}},
      {"missing", {"users", "bookings"}},
      {"found_compression", nullptr},
      {"outdated", nlohmann::json::array()},
      {"note", ""},
      {"stderr", "pg_restore: error: could not read\npg_restore: aborting"},
      {"queries", {{{"name", "users"}, {"value", 12}}, {{"name", "empty"}, {"ok", false}}}}};
  RenderOptions o;
  o.verbose = true;
  auto text = render_text(report, o);
  CHECK(text.find("-> Find out why the nightly dump stopped:\n"
                  "                     look at /var/log/backup/db_backup.log\n"
                  "                     age_seconds: 259200\n"
                  "                     found_compression: (none)\n"
                  "                     missing:\n"
                  "                       - users\n"
                  "                       - bookings\n"
                  "                     newest:\n"
                  "                       path: /opt/backups/db.sql.gz\n"
                  "                       size: 1024\n"
                  "                     note: \"\"\n"
                  "                     outdated: (none)\n"
                  "                     queries:\n"
                  "                       - name: users\n"
                  "                         value: 12\n"
                  "                       - name: empty\n"
                  "                         ok: false\n"
                  "                     stderr:\n"
                  "                       pg_restore: error: could not read\n"
                  "                       pg_restore: aborting\n"
                  "  ERROR tools") != std::string::npos);
  CHECK(text.find('{') == std::string::npos);
  // Without -v there are no details.
  CHECK(render_text(report, {}).find("age_seconds") == std::string::npos);
}

TEST_CASE("control characters from a check never reach the terminal, with or without colour") {
  auto report = test::sample_report();
  report.results[0].summary = "error line: \x1b]0;owned\x07\x1b[2K\r\x1b[32mOK all fine";
  report.results[0].remediation = "first line\nsecond \x1b[1mline";
  report.results[0].details = {{"line", "\x1b[31m"}};
  RenderOptions o;
  o.verbose = true;
  for (bool colour : {false, true}) {
    o.color = colour;
    auto text = render_text(report, o);
    CHECK(text.find("\\x1b]0;owned\\x07\\x1b[2K\\x0d\\x1b[32mOK all fine") != std::string::npos);
    CHECK(text.find("\x1b]") == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find("second \\x1b[1mline") != std::string::npos);
    if (!colour) CHECK(text.find('\x1b') == std::string::npos);
  }
}
