#include "reporters/reporter.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("text output puts problems first with what to do under each") {
  auto text = render_text(test::sample_report(), {});
  auto fail = text.find("FAIL  db-fresh");
  auto error = text.find("ERROR tools");
  auto warn = text.find("WARN  logs");
  auto skip = text.find("SKIP  grants");
  auto ok = text.find("OK    dir");
  REQUIRE(fail != std::string::npos);
  CHECK(fail < error);
  CHECK(error < warn);
  CHECK(warn < skip);
  CHECK(skip < ok);
  CHECK(text.find("-> Find out why the nightly dump stopped:") != std::string::npos);
  CHECK(text.find("   look at /var/log/backup/db_backup.log") != std::string::npos);
  CHECK(text.find("5 checks: 1 ok, 1 warn, 1 fail, 1 error, 1 skipped in 1.23s - overall ERROR") !=
        std::string::npos);
  CHECK(text.find("\033[") == std::string::npos);
}

TEST_CASE("colour only when asked for") {
  RenderOptions o;
  o.color = true;
  CHECK(render_text(test::sample_report(), o).find("\033[31mFAIL") != std::string::npos);
}

TEST_CASE("verbose text shows details of problems") {
  RenderOptions o;
  o.verbose = true;
  CHECK(render_text(test::sample_report(), o).find("\"age_seconds\": 259200") != std::string::npos);
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
