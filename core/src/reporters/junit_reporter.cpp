// JUnit XML for CI: one testsuite for the checklist, one testcase per check. fail becomes
// <failure>, error <error>, skipped <skipped>; warn passes with the warning in <system-out>.
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"

#include <unistd.h>
#include <cstdio>

namespace backup_doctor {
namespace {

std::string xml_escape(const std::string& s) {
  return xml_text(s);
}

std::string secs(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", d);
  return buf;
}

std::string body(const CheckResult& r) {
  std::string text = r.summary + "\n";
  if (!r.remediation.empty()) text += "\nWhat to do: " + r.remediation + "\n";
  if (!r.details.empty()) text += "\nDetails: " + r.details.dump(2) + "\n";
  return xml_escape(text);
}

}  // namespace

std::string render_junit(const RunReport& report) {
  size_t failures = report.count(Status::fail), errors = report.count(Status::error),
         skipped = report.count(Status::skipped), tests = report.results.size();
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  std::string counts = " tests=\"" + std::to_string(tests) + "\" failures=\"" +
                       std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                       "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" +
                       secs(report.duration.count()) + "\"";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"backup-doctor\"" + counts + ">\n";
  std::string ts = iso8601(report.started_at);
  ts.pop_back();  // JUnit's timestamp has no zone designator
  out += "  <testsuite name=\"" + xml_escape(report.checklist_name) + "\"" + counts +
         " timestamp=\"" + ts + "\" hostname=\"" + xml_escape(host) + "\">\n";
  out += "    <properties>\n";
  out +=
      "      <property name=\"checklist\" value=\"" + xml_escape(report.checklist_file) + "\"/>\n";
  if (!report.profile.empty())
    out += "      <property name=\"profile\" value=\"" + xml_escape(report.profile) + "\"/>\n";
  out += "      <property name=\"status\" value=\"" + std::string(to_string(report.overall())) +
         "\"/>\n";
  out += "    </properties>\n";
  for (const auto& r : report.results) {
    out += "    <testcase name=\"" + xml_escape(r.id) + "\" classname=\"" + xml_escape(r.type) +
           "\" time=\"" + secs(r.duration.count()) + "\"";
    switch (r.status) {
      case Status::ok:
        out += "/>\n";
        continue;
      case Status::warn:
        out += ">\n      <system-out>WARNING: " + body(r) + "</system-out>\n";
        break;
      case Status::fail:
        out += ">\n      <failure message=\"" + xml_escape(r.summary) + "\" type=\"" +
               std::string(to_string(r.severity)) + "\">" + body(r) + "</failure>\n";
        break;
      case Status::error:
        out += ">\n      <error message=\"" + xml_escape(r.summary) + "\" type=\"error\">" +
               body(r) + "</error>\n";
        break;
      case Status::skipped:
        out += ">\n      <skipped message=\"" + xml_escape(r.summary) + "\"/>\n";
        break;
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace backup_doctor
