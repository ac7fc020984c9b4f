// node_exporter textfile format. Per check: one-hot status, duration and severity; per run:
// last-run timestamp, duration and overall status; plus every metric the checks emitted,
// as backup_doctor_<name>_<unit>{check="<id>", ...}. Per backup set, the two metrics the
// TRIXTECH guide's alert rules use, backup_status and backup_last_success_timestamp, labelled
// job="<set>" (docs/monitoring.md gives the rules and the scrape config they need).
#include "reporters/diagnosis_tree.hpp"
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace backup_doctor {
namespace {

// The text format's escapes, on valid UTF-8 (a scraper rejects the whole file otherwise), with
// control characters shown as escapes.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : printable(text, true)) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Unit suffixes follow Prometheus naming: seconds, bytes, ratio; percent and count add none.
std::string metric_name(const Metric& m) {
  std::string name = "backup_doctor_" + sanitize(m.name);
  std::string unit = sanitize(m.unit);
  if (unit == "seconds" || unit == "bytes" || unit == "ratio" || unit == "celsius")
    if (name.size() < unit.size() + 1 ||
        name.compare(name.size() - unit.size(), unit.size(), unit) != 0)
      name += "_" + unit;
  if (unit == "percent") name += "_percent";
  return name;
}

struct Family {
  std::string help;
  std::vector<std::string> samples;
};

using AddSample = std::function<void(const std::string& name, const std::string& help,
                                     const std::string& labels, double value)>;

// What the guide's rules need of one backup set (group_of): its worst weighted status, and the
// oldest of the newest backups its checks found (each watches one place the backup must reach).
struct BackupSet {
  Status worst = Status::ok;
  std::optional<double> newest_backup;
};

std::map<std::string, BackupSet> backup_sets(const RunReport& report) {
  std::map<std::string, BackupSet> sets;
  for (const auto& r : report.results) {
    auto& set = sets[group_of(r)];
    Status w = r.unconfigured ? Status::error : weighted(r.status, r.severity);
    if (rank(w) > rank(set.worst)) set.worst = w;
    for (const auto& m : r.metrics)
      if (m.name == "newest_backup_timestamp")
        set.newest_backup = std::min(set.newest_backup.value_or(m.value), m.value);
  }
  return sets;
}

// backup_status{job,status}: one-hot over ok, warn and failed (a check weighted fail or error);
// backup_last_success_timestamp{job}: the set's newest backup when a check found one, else the
// end of this run when the set is ok, else NaN (unknown: no alert on a made-up age).
void add_backup_sets(const RunReport& report, const std::string& checklist, double ended,
                     const AddSample& add) {
  for (const auto& [name, set] : backup_sets(report)) {
    std::string job = checklist + ",job=\"" + label_value(name) + "\"";
    const char* status = set.worst == Status::ok     ? "ok"
                         : set.worst == Status::warn ? "warn"
                                                     : "failed";
    for (const char* s : {"ok", "warn", "failed"})
      add("backup_status",
          "Status of each backup set (job) in the last run, for the TRIXTECH guide's alerts: 1 "
          "for its status (failed: a check weighted fail or error), 0 for the others.",
          job + ",status=\"" + s + "\"", std::string(status) == s ? 1 : 0);
    double success = set.newest_backup         ? *set.newest_backup
                     : set.worst == Status::ok ? ended
                                               : std::numeric_limits<double>::quiet_NaN();
    add("backup_last_success_timestamp",
        "Last success of each backup set (Unix time): its newest backup when a check found one, "
        "else the last run if the set was ok in it, else NaN (unknown).",
        job, success);
  }
}

}  // namespace

std::string render_prometheus(const RunReport& report, const RenderOptions& options) {
  std::map<std::string, Family> families;
  auto add = [&](const std::string& name, const std::string& help, const std::string& labels,
                 double value) {
    auto& f = families[name];
    if (f.help.empty()) f.help = help;
    f.samples.push_back(name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(value));
  };
  const std::string checklist = "checklist=\"" + label_value(report.checklist_name) + "\"";

  for (const auto& r : report.results) {
    std::string check = checklist + ",check=\"" + label_value(r.id) + "\"";
    for (Status s : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
      add("backup_doctor_check_status",
          "Status of each check in the last run: 1 for its current status, 0 for the others.",
          check + ",type=\"" + label_value(r.type) + "\",severity=\"" +
              std::string(to_string(r.severity)) + "\",status=\"" + std::string(to_string(s)) +
              "\"",
          r.status == s ? 1 : 0);
    add("backup_doctor_check_duration_seconds", "How long each check took in the last run.", check,
        r.duration.count());
    for (const auto& m : r.metrics) {
      std::string labels = check;
      for (const auto& [k, v] : m.labels.items())
        if (k != "check" && k != "checklist")
          labels += "," + sanitize(k) + "=\"" +
                    label_value(v.is_string() ? v.get<std::string>() : v.dump()) + "\"";
      std::string name = metric_name(m);
      add(name, "Metric '" + m.name + "' reported by " + r.type + " checks.", labels, m.value);
    }
  }
  auto ended = report.started_at +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(report.duration);
  const double ended_s = std::chrono::duration<double>(ended.time_since_epoch()).count();
  add("backup_doctor_last_run_timestamp_seconds",
      "When the last run of this checklist finished (Unix time).", checklist, ended_s);
  add_backup_sets(report, checklist, ended_s, add);
  for (const auto& p : options.refused_plugins)
    add("backup_doctor_plugin_refused",
        "A plugin file that was not loaded (1 per file), with the reason.",
        checklist + ",file=\"" + label_value(p.file) + "\",reason=\"" + label_value(p.reason) +
            "\"",
        1);
  add("backup_doctor_run_duration_seconds", "How long the last run took.", checklist,
      report.duration.count());
  Status overall = report.overall();
  for (Status s : {Status::ok, Status::warn, Status::fail, Status::error})
    add("backup_doctor_run_status",
        "Overall status of the last run: 1 for its status, 0 for the others.",
        checklist + ",status=\"" + std::string(to_string(s)) + "\"", overall == s ? 1 : 0);
  for (Status s : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
    add("backup_doctor_checks", "Number of checks per status in the last run.",
        checklist + ",status=\"" + std::string(to_string(s)) + "\"",
        static_cast<double>(report.count(s)));

  std::string out;
  for (const auto& [name, family] : families) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " gauge\n";
    std::set<std::string> seen;  // identical series would make the file invalid
    for (const auto& s : family.samples) {
      auto key = s.substr(0, s.rfind(' '));
      if (seen.insert(key).second) out += s + "\n";
    }
  }
  return out;
}

}  // namespace backup_doctor
