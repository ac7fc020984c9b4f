// pg.wal_archiving: is continuous archiving on, succeeding and current, and is the archive
// complete enough for point-in-time recovery?
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"
#include "wal_segments.hpp"

#include <backup_doctor/duration.hpp>
#include <backup_doctor/text.hpp>

#include <cmath>
#include <regex>

namespace backup_doctor::pg {

namespace {

// archive_command may carry credentials (AWS_SECRET_ACCESS_KEY=..., --password=...).
std::string mask_command(const std::string& command) {
  static const std::regex assign(
      R"(([A-Za-z0-9_]*(PASSWORD|SECRET|TOKEN|KEY|PASS)[A-Za-z0-9_]*=)(\S+))", std::regex::icase);
  static const std::regex option(R"((--?(password|secret|token|key)[A-Za-z0-9_-]*[= ])(\S+))",
                                 std::regex::icase);
  std::string s = std::regex_replace(command, assign, "$1***");
  return std::regex_replace(s, option, "$1***");
}

// The command the archiver would run for `wal`, for the operator to try by hand.
std::string substitute(const std::string& command, const std::string& wal) {
  std::string out;
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == '%' && i + 1 < command.size()) {
      char n = command[i + 1];
      if (n == 'p')
        out += "pg_wal/" + wal, ++i;
      else if (n == 'f')
        out += wal, ++i;
      else if (n == '%')
        out += '%', ++i;
      else
        out += command[i];
    } else {
      out += command[i];
    }
  }
  return out;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, seconds) * 1000));
}

const char* const kArchiverQuery =
    "SELECT current_setting('archive_mode') AS archive_mode, "
    "current_setting('archive_command') AS archive_command, "
    "coalesce(current_setting('archive_library', true), '') AS archive_library, "
    "current_setting('archive_timeout') AS archive_timeout, "
    "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS wal_segment_size, "
    "pg_is_in_recovery()::text AS in_recovery, "
    "s.archived_count, s.last_archived_wal, s.last_archived_time::text AS last_archived_time, "
    "extract(epoch FROM s.last_archived_time)::float8 AS last_archived_epoch, "
    "s.failed_count, s.last_failed_wal, s.last_failed_time::text AS last_failed_time, "
    "extract(epoch FROM s.last_failed_time)::float8 AS last_failed_epoch, "
    "s.stats_reset::text AS stats_reset, extract(epoch FROM now())::float8 AS now_epoch, "
    // The write position in bytes, and the timeline: pg_walfile_name() would name the
    // previous segment at an exact segment boundary (right after a switch).
    "CASE WHEN pg_is_in_recovery() THEN NULL "
    "     ELSE (pg_current_wal_lsn() - '0/0'::pg_lsn)::text END AS current_lsn_bytes, "
    "CASE WHEN pg_is_in_recovery() THEN NULL "
    "     ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_wal_name "
    "FROM pg_stat_archiver s";

// What the server says about its archiver (one row of kArchiverQuery).
struct ArchiverState {
  std::string mode, command, library;
  bool in_recovery = false;
  uint64_t seg_size = 0;
  long long archived = 0, failed = 0;
  double now = 0;
  std::optional<double> last_ok, last_fail;
  std::string last_wal, failed_wal;
  std::string current_wal;
  std::optional<uint64_t> current_segno;
  // Completed segments not yet archived: those between the last archived and the current one.
  std::optional<long long> pending;
};

ArchiverState read_archiver_state(const QueryResult& q) {
  ArchiverState s;
  s.mode = q.text(0, "archive_mode");
  s.command = q.text(0, "archive_command");
  s.library = q.text(0, "archive_library");
  s.in_recovery = q.text(0, "in_recovery") == "true";
  s.seg_size = std::stoull(q.text(0, "wal_segment_size"));
  s.archived = std::stoll(q.text(0, "archived_count"));
  s.failed = std::stoll(q.text(0, "failed_count"));
  s.now = std::stod(q.text(0, "now_epoch"));
  if (!q.is_null(0, "last_archived_epoch")) s.last_ok = std::stod(q.text(0, "last_archived_epoch"));
  if (!q.is_null(0, "last_failed_epoch")) s.last_fail = std::stod(q.text(0, "last_failed_epoch"));
  s.last_wal = q.text(0, "last_archived_wal"), s.failed_wal = q.text(0, "last_failed_wal");
  if (!q.is_null(0, "current_lsn_bytes")) {
    s.current_segno = std::stoull(q.text(0, "current_lsn_bytes")) / s.seg_size;
    auto tli = parse_wal_name(q.text(0, "current_wal_name"), s.seg_size);
    s.current_wal = wal_file_name(tli ? tli->timeline : 1, *s.current_segno, s.seg_size);
  }
  if (s.command == "(disabled)") s.command.clear();

  if (s.current_segno) {
    auto last = parse_wal_name(s.last_wal, s.seg_size);
    if (last)
      s.pending = std::max<long long>(
          0, static_cast<long long>(*s.current_segno) - static_cast<long long>(last->segno) - 1);
  }
  return s;
}

nlohmann::json archiver_details(const ArchiverState& s, const QueryResult& q) {
  nlohmann::json details = {{"archive_mode", s.mode},
                            {"archive_command", mask_command(s.command)},
                            {"archive_library", s.library},
                            {"archive_timeout", q.text(0, "archive_timeout")},
                            {"in_recovery", s.in_recovery},
                            {"archived_count", s.archived},
                            {"failed_count", s.failed},
                            {"last_archived_wal", s.last_wal},
                            {"last_archived_time", q.text(0, "last_archived_time")},
                            {"last_failed_wal", s.failed_wal},
                            {"last_failed_time", q.text(0, "last_failed_time")},
                            {"stats_reset", q.text(0, "stats_reset")},
                            {"current_wal", s.current_wal},
                            {"wal_segment_size", s.seg_size}};
  if (s.pending) details["pending_segments"] = *s.pending;
  return details;
}

void emit_archiver_metrics(const ArchiverState& s, sdk::Context& r) {
  r.metric("pg_wal_archive_failures", static_cast<double>(s.failed), "count");
  if (s.pending) r.metric("pg_wal_pending_segments", static_cast<double>(*s.pending), "count");
  if (s.last_ok) {
    r.metric("pg_wal_last_archived_timestamp", *s.last_ok, "seconds");
    r.metric("pg_wal_archive_age", s.now - *s.last_ok, "seconds");
  }
}

// Archiving off, a standby, or nothing configured to archive: reports and returns true, since
// none of the later checks means anything then.
bool report_unconfigured(const ArchiverState& s, bool require, const nlohmann::json& details,
                         sdk::Context& r) {
  if (s.mode == "off") {
    if (!require) {
      r.ok("WAL archiving is off (not required by this check)", details);
      return true;
    }
    r.fail("WAL archiving is off: no point-in-time recovery is possible",
           "Only the dumps can be restored, and everything since the last one is lost. To "
           "archive WAL, set in postgresql.conf `archive_mode = on` and `archive_command = 'test "
           "! -f /path/to/wal_archive/%f && cp %p /path/to/wal_archive/%f'` (or a tool such as "
           "pgBackRest/WAL-G), restart PostgreSQL, and take a new base backup.",
           details);
    return true;
  }
  if (s.in_recovery && s.mode != "always") {
    r.skip("This server is a standby (archive_mode = " + s.mode +
               "): WAL is archived by the primary; run this check there",
           details);
    return true;
  }
  if (s.command.empty() && s.library.empty()) {
    r.fail("archive_mode is on but neither archive_command nor archive_library is set",
           "Nothing archives WAL, so completed segments stay in pg_wal (marked .ready) until the "
           "disk fills. Set archive_command (or archive_library) and reload: `ALTER SYSTEM SET "
           "archive_command = '...'; SELECT pg_reload_conf();`",
           details);
    return true;
  }
  return false;
}

// The newest failure is more recent than the newest success.
bool archiving_is_failing(const ArchiverState& s) {
  return s.failed > 0 && s.last_fail && (!s.last_ok || *s.last_fail > *s.last_ok);
}

void add_failing_finding(const ArchiverState& s, sdk::Findings& findings) {
  std::string since = format_duration(ms(s.now - *s.last_fail));
  std::string how = s.library.empty()
                        ? "Run the command by hand as the server's OS user to see its error, "
                          "from the data directory: `sudo -u postgres sh -c " +
                              sdk::shell_quote(mask_command(substitute(s.command, s.failed_wal))) +
                              "`"
                        : "Check the archive library '" + s.library + "' and its settings";
  findings.add(
      sdk::Status::fail,
      "WAL archiving is failing: " + std::to_string(s.failed) + " failed attempt(s), the last " +
          since + " ago on " + s.failed_wal +
          (s.last_ok ? ", last success " + format_duration(ms(s.now - *s.last_ok)) + " ago"
                     : std::string(", never succeeded")),
      how +
          ". The server log has 'archive command failed' lines with the exit code. Until "
          "it succeeds no newer WAL is archived" +
          (s.pending && *s.pending > 0 ? " (" + std::to_string(*s.pending) + " segment(s) waiting)"
                                       : std::string()) +
          " and pg_wal keeps growing.");
}

void add_stale_finding(const ArchiverState& s, std::chrono::milliseconds max_age,
                       const std::string& last_archived_time, sdk::Findings& findings) {
  double age = s.now - *s.last_ok;
  findings.add(
      sdk::Status::warn,
      "The last WAL segment was archived " + format_duration(ms(age)) + " ago (" + s.last_wal +
          "), more than " + format_duration(max_age) +
          (s.pending ? "; " + std::to_string(*s.pending) + " segment(s) wait" : std::string()),
      "Point-in-time recovery cannot go past " + last_archived_time +
          ". Check that the archiver process runs (`ps -ef | grep 'postgres: archiver'`) "
          "and what it logs, and set archive_timeout (for example '5min') so a quiet "
          "server still closes and archives its segments.");
}

// The last success is older than max_age while archiving is not already reported failing.
bool archiving_is_stale(const ArchiverState& s, std::chrono::milliseconds max_age, bool failing) {
  if (!s.last_ok) return false;
  double age = s.now - *s.last_ok;
  if (!(age * 1000 > static_cast<double>(max_age.count()) && !failing)) return false;
  // Nothing completed since: the server is quiet, not the archiver stuck.
  return !(s.pending && *s.pending == 0);
}

void add_not_files_finding(const std::string& dir, const ArchiveScan& scan, size_t max_items,
                           nlohmann::json& arch, sdk::Findings& findings) {
  nlohmann::json shown = nlohmann::json::array();
  for (size_t i = 0; i < scan.not_files.size() && i < max_items; ++i)
    shown.push_back(scan.not_files[i]);
  arch["not_regular_files"] = shown;
  findings.add(sdk::Status::warn,
               "WAL archive " + dir + " has " + std::to_string(scan.not_files.size()) + " entr" +
                   (scan.not_files.size() == 1 ? "y" : "ies") +
                   " named like segments that are not regular files, first " + scan.not_files[0],
               "archive_command writes regular files; these were made by something else and were "
               "not counted as archived (a restore_command copying them would copy a link or block "
               "on a FIFO). Look at them (`ls -la " +
                   dir +
                   "`), remove what is not a segment, and "
                   "copy real segments in their place if the server still has them in pg_wal.");
}

// Where the recovery window in the archive starts, and why there.
struct WindowStart {
  uint64_t segno;
  std::string from;
};

WindowStart recovery_window_start(const nlohmann::json& params, const ArchiveScan& scan,
                                  uint64_t seg_size) {
  WindowStart w{*scan.segments.begin(), "the oldest segment"};
  if (params.contains("start_segment")) {
    auto s = parse_wal_name(params["start_segment"].get<std::string>(), seg_size);
    if (!s) throw sdk::CheckError("start_segment is not a WAL segment name");
    w.segno = s->segno;
    w.from = "start_segment";
  } else if (scan.newest_backup_start) {
    w.segno = *scan.newest_backup_start;
    w.from = "the newest base backup (" + scan.newest_backup_label + ")";
  }
  return w;
}

// Gaps in the archive between the start of the recovery window and its newest segment, and an
// archive that ends before the server's last archived segment.
void check_archive_window(const nlohmann::json& params, const std::string& dir,
                          const ArchiveScan& scan, const ArchiverState& s, size_t max_items,
                          nlohmann::json& arch, sdk::Findings& findings, sdk::Context& r) {
  uint64_t seg_size = s.seg_size;
  uint64_t newest = *scan.segments.rbegin();
  WindowStart window = recovery_window_start(params, scan, seg_size);
  uint64_t start = window.segno;
  auto name = [&](uint64_t seg) { return wal_file_name(scan.newest_timeline, seg, seg_size); };
  auto gaps = find_gaps(scan.segments, start, newest);
  uint64_t missing = 0;
  nlohmann::json gap_list = nlohmann::json::array();
  for (const auto& g : gaps) {
    missing += g.count();
    if (gap_list.size() < max_items)
      gap_list.push_back({{"first", name(g.first)}, {"last", name(g.last)}, {"count", g.count()}});
  }
  arch["window_start"] = name(start);
  arch["window_start_from"] = window.from;
  arch["newest"] = name(newest);
  arch["missing_segments"] = missing;
  arch["gaps"] = gap_list;
  arch["gap_count"] = gaps.size();
  r.metric("pg_wal_archive_missing_segments", static_cast<double>(missing), "count");
  r.metric("pg_wal_archive_segments", static_cast<double>(scan.segments.size()), "count");
  if (!gaps.empty()) {
    findings.add(sdk::Status::fail,
                 "WAL archive " + dir + " misses " + std::to_string(missing) + " segment(s) in " +
                     std::to_string(gaps.size()) + " gap(s), first " + name(gaps[0].first) +
                     (gaps[0].count() > 1 ? ".." + name(gaps[0].last) : std::string()),
                 "Replay stops at the first missing segment, so point-in-time recovery from " +
                     name(start) + " cannot reach past " + name(gaps[0].first) +
                     ". If the segments are still in the server's pg_wal, copy them into " + dir +
                     "; otherwise take a new base backup (pg_basebackup) so that a complete window "
                     "starts after the gap.");
  }
  auto last = parse_wal_name(s.last_wal, seg_size);
  if (last && last->segno > newest) {
    findings.add(sdk::Status::warn,
                 "The server archived " + s.last_wal + " but " + dir + " ends at " + name(newest),
                 "archive_command seems to write somewhere else, or files are being "
                 "removed from " +
                     dir +
                     " (check cleanup jobs and the command's "
                     "destination).");
  }
}

// The archive_dir part of the check: returns what goes under details["archive"].
nlohmann::json check_archive_dir(const nlohmann::json& params, const ArchiverState& s,
                                 size_t max_items, sdk::Findings& findings, sdk::Context& r) {
  std::string dir = params["archive_dir"].get<std::string>();
  ArchiveScan scan = scan_archive_dir(dir, s.seg_size);
  nlohmann::json arch = {{"path", dir}, {"files", scan.files}, {"segments", scan.segments.size()}};
  if (!scan.not_files.empty()) add_not_files_finding(dir, scan, max_items, arch, findings);
  if (!scan.error.empty()) {
    arch["error"] = scan.error;
    findings.add(sdk::Status::fail,
                 "WAL archive directory " + dir + " is unreadable: " + scan.error,
                 "Check that " + dir +
                     " exists and that this check runs as a user "
                     "that may read it (ls -ld " +
                     dir + ").");
  } else if (scan.segments.empty()) {
    findings.add(sdk::Status::fail, "WAL archive directory " + dir + " has no WAL segments",
                 "archive_command does not write there: compare its destination ('" +
                     mask_command(s.command) + "') with " + dir + ".");
  } else {
    check_archive_window(params, dir, scan, s, max_items, arch, findings, r);
  }
  return arch;
}

void report_archiving_works(const ArchiverState& s, const nlohmann::json& details,
                            sdk::Context& r) {
  std::string summary = "WAL archiving works: " + std::to_string(s.archived) + " archived";
  if (s.last_ok)
    summary += ", last " + s.last_wal + " " + format_duration(ms(s.now - *s.last_ok)) + " ago";
  if (s.failed > 0)
    summary += " (" + std::to_string(s.failed) + " earlier failures, since recovered)";
  if (s.pending && *s.pending == 0) summary += ", nothing waiting";
  if (details.contains("archive"))
    summary += "; archive " + details["archive"]["window_start"].get<std::string>() + ".." +
               details["archive"]["newest"].get<std::string>() + " has no gap";
  r.ok(summary, details);
}

// The worst finding leads; every remediation, worst first, one per line.
void report_findings(const sdk::Findings& findings, nlohmann::json& details, sdk::Context& r) {
  auto sorted = findings.worst_first();
  std::string summary = sorted[0]->summary;
  if (sorted.size() > 1) summary += " (and " + std::to_string(sorted.size() - 1) + " more)";
  std::string fix;
  nlohmann::json problems = nlohmann::json::array();
  for (const auto* f : sorted) {
    fix += (fix.empty() ? "" : "\n") + f->remediation;
    problems.push_back(f->summary);
  }
  details["problems"] = problems;
  r.report(sorted[0]->status, summary, fix, details);
}

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  auto max_age = parse_duration(params.value("max_age", std::string("1h")));
  if (!max_age) throw sdk::CheckError("max_age is not a duration");
  bool require = params.value("require", true);
  size_t max_items = params.value("max_items", 20);

  auto conn = connect_or_report(cp, r);
  if (!conn) return;
  QueryResult q = conn->query(kArchiverQuery);
  ArchiverState s = read_archiver_state(q);
  nlohmann::json details = archiver_details(s, q);
  emit_archiver_metrics(s, r);
  if (report_unconfigured(s, require, details, r)) return;

  sdk::Findings findings;
  bool failing = archiving_is_failing(s);
  if (failing) add_failing_finding(s, findings);
  if (archiving_is_stale(s, *max_age, failing))
    add_stale_finding(s, *max_age, q.text(0, "last_archived_time"), findings);
  if (params.contains("archive_dir"))
    details["archive"] = check_archive_dir(params, s, max_items, findings, r);

  if (findings.empty()) {
    report_archiving_works(s, details, r);
    return;
  }
  report_findings(findings, details, r);
}

}  // namespace

sdk::CheckType wal_archiving_check() {
  using namespace schema;
  json props = connection_properties();
  props["max_age"] = sdk::duration_schema(
      "Warn when the last successfully archived segment is older than this while newer "
      "segments are waiting. Default \"1h\".",
      "1h");
  props["require"] = boolean_prop(
      "Fail when archive_mode is off. Set false for servers that are only dumped. Default true.",
      true);
  props["archive_dir"] = string_prop(
      "A WAL archive directory readable from here: checked for missing segments from the start "
      "of the recovery window to the newest segment. Default: not checked.");
  props["start_segment"] = {
      {"type", "string"},
      {"pattern", "^[0-9A-F]{24}$"},
      {"description",
       "First segment of the recovery window in archive_dir (e.g. the one named in the base "
       "backup's backup_label). Default: the segment of the newest *.backup file there, else the "
       "oldest segment."}};
  props["max_items"] = max_items_prop();
  return {
      .type = "pg.wal_archiving",
      .summary = "Continuous archiving is on, succeeding, current, and the archive has no gap",
      .doc =
          "Reads archive_mode, archive_command/archive_library and pg_stat_archiver. Fails when "
          "archiving is off (unless `require` is false) or has no command, and when the newest "
          "failure is more recent than the newest success (giving the command to try by hand "
          "for the failing segment). Warns when the last archived segment is older than "
          "`max_age` while completed segments wait. With `archive_dir`, fails when the archive "
          "misses segments between the start of the recovery window and its newest segment. "
          "Skipped on a standby unless archive_mode is always.\n\nMetrics: `pg_wal_archive_age` "
          "(seconds since the last archived segment), `pg_wal_last_archived_timestamp` "
          "(seconds), `pg_wal_archive_failures`, `pg_wal_pending_segments`, and with "
          "archive_dir `pg_wal_archive_segments`, `pg_wal_archive_missing_segments` (count).",
      .params_schema = object(props),
      .run = &run};
}

}  // namespace backup_doctor::pg
