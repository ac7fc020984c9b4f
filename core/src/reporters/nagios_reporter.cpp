// Nagios plugin output: a status line with perfdata, then one line per problem (long output).
// The state on the status line is the one the run exits with (0 OK, 1 WARNING, 2 CRITICAL,
// 3 UNKNOWN), `--fail-on` included; each problem's state is its result weighed by severity.
#include "reporters/counted.hpp"
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"

#include <cstdio>

namespace backup_doctor {
namespace {

// '|' starts perfdata in Nagios output; a line break would end the status line; control
// characters would reach the terminal or web page that shows it.
std::string plain(const std::string& text) {
  std::string s = printable(text);
  for (char& c : s)
    if (c == '|') c = '/';
  return s;
}

const char* nagios_state(Status weighed) {
  switch (weighed) {
    case Status::ok:
    case Status::skipped:
      return "OK";
    case Status::warn:
      return "WARNING";
    case Status::fail:
      return "CRITICAL";
    case Status::error:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

// A problem is any result that is not ok or skipped, whatever its severity: an `info` check's
// failure is still listed (as OK, since it does not weigh on the state).
bool is_problem(const CheckResult& r) {
  return r.status == Status::fail || r.status == Status::error || r.status == Status::warn;
}

std::string perfdata(const RunReport& report) {
  std::string out;
  for (Status s : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
    out += std::string(out.empty() ? "" : " ") + std::string(to_string(s)) + "=" +
           std::to_string(report.count(s)) + ";;;0";
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3fs", report.duration.count());
  return out + " duration=" + duration;
}

std::string status_line(const RunReport& report, Status fail_on) {
  std::string problems;
  for (const auto& r : report.results)
    if (is_problem(r)) problems += (problems.empty() ? "" : ", ") + plain(r.id);
  Status reported = status_under_threshold(report.overall(), fail_on);
  return "BACKUP-DOCTOR " + std::string(nagios_state(reported)) + " - " +
         counted(report.count(Status::fail), "failed", "failed") + ", " +
         counted(report.count(Status::error), "error") + ", " +
         counted(report.count(Status::warn), "warning") + ", " +
         counted(report.count(Status::ok), "ok", "ok") + (problems.empty() ? "" : ": " + problems) +
         " | " + perfdata(report) + "\n";
}

}  // namespace

std::string render_nagios(const RunReport& report, const RenderOptions& options) {
  std::string out = status_line(report, options.fail_on);
  for (const auto& r : report.results)
    if (is_problem(r))
      out += "[" + std::string(nagios_state(weighted(r.status, r.severity))) + "] " + plain(r.id) +
             ": " + plain(r.summary) + "\n";
  return out;
}

}  // namespace backup_doctor
