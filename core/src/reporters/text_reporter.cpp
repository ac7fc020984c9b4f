// The report for people: problems first, each with what to do under it, then a one-line total.
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"

#include <backup_doctor/duration.hpp>

#include <cstdio>
#include <sstream>

namespace backup_doctor {
namespace {

const char* colour_of(Status s) {
  switch (s) {
    case Status::ok:
      return "\033[32m";
    case Status::warn:
      return "\033[33m";
    case Status::fail:
      return "\033[31m";
    case Status::error:
      return "\033[35m";
    case Status::skipped:
      return "\033[2m";
  }
  return "";
}

std::string label(Status s) {
  switch (s) {
    case Status::ok:
      return "OK";
    case Status::warn:
      return "WARN";
    case Status::fail:
      return "FAIL";
    case Status::error:
      return "ERROR";
    case Status::skipped:
      return "SKIP";
  }
  return "?";
}

// Indents every line of `text` (remediation may hold several lines, e.g. GRANT statements).
std::string indented(const std::string& text, const std::string& prefix, const std::string& first) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  bool is_first = true;
  while (std::getline(in, line)) {
    out += (is_first ? first : prefix) + line + "\n";
    is_first = false;
  }
  return out;
}

std::string seconds(std::chrono::duration<double> d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", d.count());
  return buf;
}

}  // namespace

std::string render_text(const RunReport& report, const RenderOptions& options) {
  auto paint = [&](Status s, const std::string& text) {
    return options.color ? std::string(colour_of(s)) + text + "\033[0m" : text;
  };
  auto bold = [&](const std::string& text) {
    return options.color ? "\033[1m" + text + "\033[0m" : text;
  };
  size_t id_width = 0;
  for (const auto& r : report.results) id_width = std::max(id_width, printable(r.id).size());

  // Every string from a check or a checklist is shown through printable(): a control sequence
  // in a log line or file name must not reach the terminal.
  std::string out;
  out += bold("backup-doctor: " + printable(report.checklist_name)) +
         (report.profile.empty() ? "" : " (profile " + printable(report.profile) + ")") + "\n\n";
  // Grouped: what needs action first, then what was skipped, then what is fine.
  for (Status group : {Status::fail, Status::error, Status::warn, Status::skipped, Status::ok}) {
    for (const auto& r : report.results) {
      if (r.status != group) continue;
      std::string tag = label(r.status);
      tag.resize(5, ' ');
      std::string id = printable(r.id);
      id.resize(id_width, ' ');
      out += paint(r.status, tag) + " " + bold(id) + "  " + printable(r.summary);
      if (r.status != Status::ok && r.status != Status::skipped && r.severity != Severity::critical)
        out += "  [" + std::string(to_string(r.severity)) + "]";
      out += "\n";
      std::string pad(6 + id_width + 2, ' ');
      if (!r.remediation.empty() && r.status != Status::ok && r.status != Status::skipped)
        out += indented(printable(r.remediation, true), pad + "  ", pad + "-> ");
      if (options.verbose && r.status != Status::ok && !r.details.empty())
        out += indented(
            printable(r.details.dump(2, ' ', false, nlohmann::json::error_handler_t::replace),
                      true),
            pad + "   ", pad + "   ");
    }
  }
  Status overall = report.overall();
  out += "\n" + std::to_string(report.results.size()) +
         " checks: " + std::to_string(report.count(Status::ok)) + " ok, " +
         std::to_string(report.count(Status::warn)) + " warn, " +
         std::to_string(report.count(Status::fail)) + " fail, " +
         std::to_string(report.count(Status::error)) + " error, " +
         std::to_string(report.count(Status::skipped)) + " skipped in " + seconds(report.duration) +
         " - overall " + paint(overall, label(overall)) +
         (report.interrupted ? " (interrupted)" : "") + "\n";
  return out;
}

}  // namespace backup_doctor
