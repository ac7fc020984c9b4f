// Nagios plugin output: a status line with perfdata, then one line per problem (long output).
// The exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) is the run's own.
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

}  // namespace

std::string render_nagios(const RunReport& report) {
  Status overall = report.overall();
  const char* state = overall == Status::ok     ? "OK"
                      : overall == Status::warn ? "WARNING"
                      : overall == Status::fail ? "CRITICAL"
                                                : "UNKNOWN";
  std::string problems;
  for (const auto& r : report.results)
    if (r.status == Status::fail || r.status == Status::error || r.status == Status::warn)
      problems += (problems.empty() ? "" : ", ") + plain(r.id);
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3fs", report.duration.count());
  std::string out =
      "BACKUP-DOCTOR " + std::string(state) + " - " + std::to_string(report.count(Status::fail)) +
      " failed, " + std::to_string(report.count(Status::error)) + " errors, " +
      std::to_string(report.count(Status::warn)) + " warnings, " +
      std::to_string(report.count(Status::ok)) + " ok" + (problems.empty() ? "" : ": " + problems) +
      " | ok=" + std::to_string(report.count(Status::ok)) +
      ";;;0 warn=" + std::to_string(report.count(Status::warn)) +
      ";;;0 fail=" + std::to_string(report.count(Status::fail)) +
      ";;;0 error=" + std::to_string(report.count(Status::error)) +
      ";;;0 skipped=" + std::to_string(report.count(Status::skipped)) +
      ";;;0 duration=" + duration + "\n";
  for (const auto& r : report.results)
    if (r.status == Status::fail || r.status == Status::error || r.status == Status::warn)
      out += "[" +
             std::string(r.status == Status::warn   ? "WARNING"
                         : r.status == Status::fail ? "CRITICAL"
                                                    : "UNKNOWN") +
             "] " + plain(r.id) + ": " + plain(r.summary) + "\n";
  return out;
}

}  // namespace backup_doctor
