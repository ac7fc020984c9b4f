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

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  auto max_age = parse_duration(params.value("max_age", std::string("1h")));
  if (!max_age) throw sdk::CheckError("max_age is not a duration");
  bool require = params.value("require", true);
  size_t max_items = params.value("max_items", 20);

  auto conn = connect_or_report(cp, r);
  if (!conn) return;
  QueryResult q = conn->query(
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
      "FROM pg_stat_archiver s");
  std::string mode = q.text(0, "archive_mode");
  std::string command = q.text(0, "archive_command");
  std::string library = q.text(0, "archive_library");
  bool in_recovery = q.text(0, "in_recovery") == "true";
  uint64_t seg_size = std::stoull(q.text(0, "wal_segment_size"));
  long long archived = std::stoll(q.text(0, "archived_count"));
  long long failed = std::stoll(q.text(0, "failed_count"));
  double now = std::stod(q.text(0, "now_epoch"));
  std::optional<double> last_ok, last_fail;
  if (!q.is_null(0, "last_archived_epoch")) last_ok = std::stod(q.text(0, "last_archived_epoch"));
  if (!q.is_null(0, "last_failed_epoch")) last_fail = std::stod(q.text(0, "last_failed_epoch"));
  std::string last_wal = q.text(0, "last_archived_wal"), failed_wal = q.text(0, "last_failed_wal");
  std::string current_wal;
  std::optional<uint64_t> current_segno;
  if (!q.is_null(0, "current_lsn_bytes")) {
    current_segno = std::stoull(q.text(0, "current_lsn_bytes")) / seg_size;
    auto tli = parse_wal_name(q.text(0, "current_wal_name"), seg_size);
    current_wal = wal_file_name(tli ? tli->timeline : 1, *current_segno, seg_size);
  }
  if (command == "(disabled)") command.clear();

  // Completed segments not yet archived: those between the last archived and the current one.
  std::optional<long long> pending;
  if (current_segno) {
    auto last = parse_wal_name(last_wal, seg_size);
    if (last)
      pending = std::max<long long>(
          0, static_cast<long long>(*current_segno) - static_cast<long long>(last->segno) - 1);
  }

  nlohmann::json details = {{"archive_mode", mode},
                            {"archive_command", mask_command(command)},
                            {"archive_library", library},
                            {"archive_timeout", q.text(0, "archive_timeout")},
                            {"in_recovery", in_recovery},
                            {"archived_count", archived},
                            {"failed_count", failed},
                            {"last_archived_wal", last_wal},
                            {"last_archived_time", q.text(0, "last_archived_time")},
                            {"last_failed_wal", failed_wal},
                            {"last_failed_time", q.text(0, "last_failed_time")},
                            {"stats_reset", q.text(0, "stats_reset")},
                            {"current_wal", current_wal},
                            {"wal_segment_size", seg_size}};
  if (pending) details["pending_segments"] = *pending;
  r.metric("pg_wal_archive_failures", static_cast<double>(failed), "count");
  if (pending) r.metric("pg_wal_pending_segments", static_cast<double>(*pending), "count");
  if (last_ok) {
    r.metric("pg_wal_last_archived_timestamp", *last_ok, "seconds");
    r.metric("pg_wal_archive_age", now - *last_ok, "seconds");
  }

  if (mode == "off") {
    if (!require) {
      r.ok("WAL archiving is off (not required by this check)", details);
      return;
    }
    r.fail("WAL archiving is off: no point-in-time recovery is possible",
           "Only the dumps can be restored, and everything since the last one is lost. To "
           "archive WAL, set in postgresql.conf `archive_mode = on` and `archive_command = 'test "
           "! -f /path/to/wal_archive/%f && cp %p /path/to/wal_archive/%f'` (or a tool such as "
           "pgBackRest/WAL-G), restart PostgreSQL, and take a new base backup.",
           details);
    return;
  }
  if (in_recovery && mode != "always") {
    r.skip("This server is a standby (archive_mode = " + mode +
               "): WAL is archived by the primary; run this check there",
           details);
    return;
  }
  if (command.empty() && library.empty()) {
    r.fail("archive_mode is on but neither archive_command nor archive_library is set",
           "Nothing archives WAL, so completed segments stay in pg_wal (marked .ready) until the "
           "disk fills. Set archive_command (or archive_library) and reload: `ALTER SYSTEM SET "
           "archive_command = '...'; SELECT pg_reload_conf();`",
           details);
    return;
  }

  sdk::Findings findings;
  bool failing = failed > 0 && last_fail && (!last_ok || *last_fail > *last_ok);
  if (failing) {
    std::string since = format_duration(ms(now - *last_fail));
    std::string how =
        library.empty() ? "Run the command by hand as the server's OS user to see its error, "
                          "from the data directory: `sudo -u postgres sh -c " +
                              sdk::shell_quote(mask_command(substitute(command, failed_wal))) + "`"
                        : "Check the archive library '" + library + "' and its settings";
    findings.add(
        sdk::Status::fail,
        "WAL archiving is failing: " + std::to_string(failed) + " failed attempt(s), the last " +
            since + " ago on " + failed_wal +
            (last_ok ? ", last success " + format_duration(ms(now - *last_ok)) + " ago"
                     : std::string(", never succeeded")),
        how +
            ". The server log has 'archive command failed' lines with the exit code. Until "
            "it succeeds no newer WAL is archived" +
            (pending && *pending > 0 ? " (" + std::to_string(*pending) + " segment(s) waiting)"
                                     : std::string()) +
            " and pg_wal keeps growing.");
  }

  if (last_ok) {
    double age = now - *last_ok;
    if (age * 1000 > static_cast<double>(max_age->count()) && !failing) {
      if (pending && *pending == 0) {
        // Nothing completed since: the server is quiet, not the archiver stuck.
      } else {
        findings.add(
            sdk::Status::warn,
            "The last WAL segment was archived " + format_duration(ms(age)) + " ago (" + last_wal +
                "), more than " + format_duration(*max_age) +
                (pending ? "; " + std::to_string(*pending) + " segment(s) wait" : std::string()),
            "Point-in-time recovery cannot go past " + q.text(0, "last_archived_time") +
                ". Check that the archiver process runs (`ps -ef | grep 'postgres: archiver'`) "
                "and what it logs, and set archive_timeout (for example '5min') so a quiet "
                "server still closes and archives its segments.");
      }
    }
  }

  if (params.contains("archive_dir")) {
    std::string dir = params["archive_dir"].get<std::string>();
    ArchiveScan scan = scan_archive_dir(dir, seg_size);
    nlohmann::json arch = {
        {"path", dir}, {"files", scan.files}, {"segments", scan.segments.size()}};
    if (!scan.not_files.empty()) {
      nlohmann::json shown = nlohmann::json::array();
      for (size_t i = 0; i < scan.not_files.size() && i < max_items; ++i)
        shown.push_back(scan.not_files[i]);
      arch["not_regular_files"] = shown;
      findings.add(
          sdk::Status::warn,
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
                       mask_command(command) + "') with " + dir + ".");
    } else {
      uint64_t newest = *scan.segments.rbegin();
      uint64_t start = *scan.segments.begin();
      std::string start_from = "the oldest segment";
      if (params.contains("start_segment")) {
        auto s = parse_wal_name(params["start_segment"].get<std::string>(), seg_size);
        if (!s) throw sdk::CheckError("start_segment is not a WAL segment name");
        start = s->segno;
        start_from = "start_segment";
      } else if (scan.newest_backup_start) {
        start = *scan.newest_backup_start;
        start_from = "the newest base backup (" + scan.newest_backup_label + ")";
      }
      auto name = [&](uint64_t seg) { return wal_file_name(scan.newest_timeline, seg, seg_size); };
      auto gaps = find_gaps(scan.segments, start, newest);
      uint64_t missing = 0;
      nlohmann::json gap_list = nlohmann::json::array();
      for (const auto& g : gaps) {
        missing += g.count();
        if (gap_list.size() < max_items)
          gap_list.push_back(
              {{"first", name(g.first)}, {"last", name(g.last)}, {"count", g.count()}});
      }
      arch["window_start"] = name(start);
      arch["window_start_from"] = start_from;
      arch["newest"] = name(newest);
      arch["missing_segments"] = missing;
      arch["gaps"] = gap_list;
      arch["gap_count"] = gaps.size();
      r.metric("pg_wal_archive_missing_segments", static_cast<double>(missing), "count");
      r.metric("pg_wal_archive_segments", static_cast<double>(scan.segments.size()), "count");
      if (!gaps.empty()) {
        findings.add(
            sdk::Status::fail,
            "WAL archive " + dir + " misses " + std::to_string(missing) + " segment(s) in " +
                std::to_string(gaps.size()) + " gap(s), first " + name(gaps[0].first) +
                (gaps[0].count() > 1 ? ".." + name(gaps[0].last) : std::string()),
            "Replay stops at the first missing segment, so point-in-time recovery from " +
                name(start) + " cannot reach past " + name(gaps[0].first) +
                ". If the segments are still in the server's pg_wal, copy them into " + dir +
                "; otherwise take a new base backup (pg_basebackup) so that a complete window "
                "starts after the gap.");
      }
      auto last = parse_wal_name(last_wal, seg_size);
      if (last && last->segno > newest) {
        findings.add(sdk::Status::warn,
                     "The server archived " + last_wal + " but " + dir + " ends at " + name(newest),
                     "archive_command seems to write somewhere else, or files are being "
                     "removed from " +
                         dir +
                         " (check cleanup jobs and the command's "
                         "destination).");
      }
    }
    details["archive"] = arch;
  }

  if (findings.empty()) {
    std::string summary = "WAL archiving works: " + std::to_string(archived) + " archived";
    if (last_ok)
      summary += ", last " + last_wal + " " + format_duration(ms(now - *last_ok)) + " ago";
    if (failed > 0)
      summary += " (" + std::to_string(failed) + " earlier failures, since recovered)";
    if (pending && *pending == 0) summary += ", nothing waiting";
    if (details.contains("archive"))
      summary += "; archive " + details["archive"]["window_start"].get<std::string>() + ".." +
                 details["archive"]["newest"].get<std::string>() + " has no gap";
    r.ok(summary, details);
    return;
  }
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
