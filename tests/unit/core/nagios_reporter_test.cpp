#include "reporters/reporter.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>
#include <algorithm>

using namespace backup_doctor;

namespace {

RunReport one_result(Status status, Severity severity) {
  RunReport r;
  r.duration = std::chrono::milliseconds(500);
  r.results.resize(1);
  r.results[0].id = "db-fresh";
  r.results[0].status = status;
  r.results[0].severity = severity;
  r.results[0].summary = "newest dump is 3d old";
  return r;
}

RenderOptions failing_on(Status threshold) {
  RenderOptions o;
  o.fail_on = threshold;
  return o;
}

}  // namespace

TEST_CASE("Nagios output is one status line with perfdata, then one line per problem") {
  auto text = render_nagios(test::sample_report());
  CHECK(text ==
        "BACKUP-DOCTOR UNKNOWN - 1 failed, 1 error, 1 warning, 1 ok: db-fresh, logs, tools | "
        "ok=1;;;0 warn=1;;;0 fail=1;;;0 error=1;;;0 skipped=1;;;0 duration=1.234s\n"
        "[CRITICAL] db-fresh: newest *.sql.gz is 3d old (limit 25h)\n"
        "[WARNING] logs: 2 error lines in db_backup.log\n"
        "[UNKNOWN] tools: the check crashed\n");
  // A '|' in a summary would start perfdata early.
  auto first = text.substr(0, text.find('\n'));
  CHECK(std::count(first.begin(), first.end(), '|') == 1);
}

TEST_CASE("Nagios counts are pluralised") {
  auto report = test::sample_report();
  report.results.push_back(report.results[0]);  // a second fail
  report.results.push_back(report.results[2]);  // a second error
  report.results.push_back(report.results[1]);  // a second warn
  CHECK(render_nagios(report).rfind("BACKUP-DOCTOR UNKNOWN - 2 failed, 2 errors, 2 warnings, 1 ok",
                                    0) == 0);
}

TEST_CASE("an all-ok run is OK") {
  auto text = render_nagios(one_result(Status::ok, Severity::critical));
  CHECK(text ==
        "BACKUP-DOCTOR OK - 0 failed, 0 errors, 0 warnings, 1 ok | ok=1;;;0 warn=0;;;0 "
        "fail=0;;;0 error=0;;;0 skipped=0;;;0 duration=0.500s\n");
}

TEST_CASE("each problem's Nagios state follows its severity, like the overall status") {
  auto status_of = [](Status s, Severity sev) {
    auto text = render_nagios(one_result(s, sev));
    return text.substr(text.find('\n') + 1);
  };
  CHECK(status_of(Status::fail, Severity::critical) ==
        "[CRITICAL] db-fresh: newest dump is 3d old\n");
  CHECK(status_of(Status::fail, Severity::warning) ==
        "[WARNING] db-fresh: newest dump is 3d old\n");
  CHECK(status_of(Status::fail, Severity::info) == "[OK] db-fresh: newest dump is 3d old\n");
  CHECK(status_of(Status::error, Severity::warning) ==
        "[UNKNOWN] db-fresh: newest dump is 3d old\n");
  CHECK(status_of(Status::error, Severity::info) == "[WARNING] db-fresh: newest dump is 3d old\n");
  CHECK(status_of(Status::warn, Severity::info) == "[OK] db-fresh: newest dump is 3d old\n");
  // The status line agrees with the problem line.
  CHECK(render_nagios(one_result(Status::fail, Severity::warning))
            .rfind("BACKUP-DOCTOR WARNING - 1 failed, ", 0) == 0);
  CHECK(render_nagios(one_result(Status::fail, Severity::info)).rfind("BACKUP-DOCTOR OK - ", 0) ==
        0);
}

TEST_CASE("the Nagios state is the exit code's, --fail-on included") {
  auto warn_run = one_result(Status::warn, Severity::critical);
  auto fail_run = one_result(Status::fail, Severity::critical);
  auto state = [](const RunReport& r, Status fail_on) {
    auto text = render_nagios(r, failing_on(fail_on));
    return text.substr(0, text.find(" - "));
  };
  CHECK(state(warn_run, Status::warn) == "BACKUP-DOCTOR WARNING");
  CHECK(state(warn_run, Status::fail) == "BACKUP-DOCTOR OK");
  CHECK(state(fail_run, Status::fail) == "BACKUP-DOCTOR CRITICAL");
  CHECK(state(fail_run, Status::error) == "BACKUP-DOCTOR OK");
  // The problem is still listed, in its own state.
  CHECK(render_nagios(warn_run, failing_on(Status::fail)).find("\n[WARNING] db-fresh: ") !=
        std::string::npos);
  // Errors always count.
  CHECK(state(one_result(Status::error, Severity::critical), Status::error) ==
        "BACKUP-DOCTOR UNKNOWN");
  for (Status run : {Status::ok, Status::warn, Status::fail, Status::error})
    for (Status fail_on : {Status::warn, Status::fail, Status::error}) {
      INFO(std::string(to_string(run)), " with --fail-on ", std::string(to_string(fail_on)));
      const char* names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
      int code = exit_code_for(status_under_threshold(run, fail_on));
      CHECK(state(one_result(run, Severity::critical), fail_on) ==
            std::string("BACKUP-DOCTOR ") + names[code]);
    }
}
