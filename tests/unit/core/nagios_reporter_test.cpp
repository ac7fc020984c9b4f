#include "reporters/reporter.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>
#include <algorithm>

using namespace backup_doctor;

TEST_CASE("Nagios output is one status line with perfdata, then one line per problem") {
  auto text = render_nagios(test::sample_report());
  auto first = text.substr(0, text.find('\n'));
  CHECK(
      first.rfind(
          "BACKUP-DOCTOR UNKNOWN - 1 failed, 1 errors, 1 warnings, 1 ok: db-fresh, logs, tools | ",
          0) == 0);
  CHECK(first.find("ok=1;;;0 warn=1;;;0 fail=1;;;0 error=1;;;0 skipped=1;;;0 duration=1.234s") !=
        std::string::npos);
  CHECK(text.find("[CRITICAL] db-fresh: newest") != std::string::npos);
  // A '|' in a summary would start perfdata early.
  CHECK(std::count(first.begin(), first.end(), '|') == 1);
}

TEST_CASE("an all-ok run is OK") {
  RunReport r;
  r.results.resize(1);
  r.results[0].status = Status::ok;
  CHECK(render_nagios(r).rfind("BACKUP-DOCTOR OK - 0 failed, 0 errors, 0 warnings, 1 ok |", 0) ==
        0);
}
