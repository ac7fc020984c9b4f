// pg.dump_verify: is a dump file usable? Reads it whole (pg_restore for archive formats, one
// streaming pass for plain SQL) and, in the opt-in deep mode, restores it into a scratch database.
#include "checks.hpp"
#include "dump_inspect.hpp"
#include "process.hpp"
#include "reporter.hpp"
#include "schema.hpp"
#include "scratch_restore.hpp"

#include <backup_doctor/duration.hpp>

#include <fnmatch.h>
#include <cstdio>
#include <future>

namespace backup_doctor::pg {

namespace {

std::string size_text(unsigned long long bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string first_lines(const std::string& text, size_t n) {
  std::string out;
  size_t lines = 0, pos = 0;
  while (pos < text.size() && lines < n) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    out += (out.empty() ? "" : " | ") + text.substr(pos, end - pos);
    pos = end + 1;
    ++lines;
  }
  return out;
}

unsigned long long path_size(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) {
    auto s = std::filesystem::file_size(p, ec);
    return ec ? 0 : s;
  }
  unsigned long long total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

// The pg_restore that reads the dump. When the default resolves to Debian's pg_wrapper (a Perl
// script that picks a version by cluster settings), use the newest installed pg_restore directly:
// it reads archives of every older version, and the wrapper's pick is about servers, not files.
std::string reader_for(const std::string& requested) {
  if (requested != "pg_restore") return requested;
  std::string found = support::find_program(requested);
  std::error_code ec;
  if (found.empty() || !std::filesystem::canonical(found, ec).string().ends_with("pg_wrapper"))
    return requested;
  std::string best;
  int best_major = 0;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto candidate = e.path() / "bin" / "pg_restore";
    int major = std::atoi(e.path().filename().c_str());
    if (major > best_major && std::filesystem::exists(candidate, ec))
      best = candidate.string(), best_major = major;
  }
  return best.empty() ? requested : best;
}

// The newest entry of `dir` (by modification time) whose name matches `pattern`.
std::optional<std::filesystem::path> newest_matching(const std::filesystem::path& dir,
                                                     const std::string& pattern, size_t& matches) {
  std::optional<std::filesystem::path> best;
  std::filesystem::file_time_type best_time{};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (fnmatch(pattern.c_str(), e.path().filename().c_str(), 0) != 0) continue;
    ++matches;
    auto t = e.last_write_time(ec);
    if (!best || t > best_time) best = e.path(), best_time = t;
  }
  return best;
}

void run(const nlohmann::json& params, Reporter& r) {
  std::filesystem::path path = params.at("path").get<std::string>();
  if (params.contains("pattern")) {
    std::string pattern = params["pattern"].get<std::string>();
    size_t matches = 0;
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      r.fail("Backup directory " + path.string() + " does not exist",
             "Check the backup job's output directory and that its volume is mounted (`findmnt "
             "-T " +
                 path.string() + "`).",
             {{"path", path.string()}, {"pattern", pattern}});
      return;
    }
    auto newest = newest_matching(path, pattern, matches);
    if (!newest) {
      r.fail("No dump matching " + pattern + " in " + path.string(),
             "Nothing to verify: the backup job wrote no dump there, or `pattern` does not match "
             "its file names (`ls -la " +
                 path.string() + "`).",
             {{"path", path.string()}, {"pattern", pattern}, {"matches", 0}});
      return;
    }
    path = *newest;
  }
  std::string want_format = params.value("format", std::string("auto"));
  std::vector<std::string> expect = params.value("expect_tables", std::vector<std::string>{});
  bool full_read = params.value("full_read", true);
  std::string pg_restore = reader_for(params.value("pg_restore", std::string("pg_restore")));
  size_t max_items = params.value("max_items", 20);
  auto timeout = parse_duration(params.value("timeout", std::string("30m")));
  if (!timeout) throw sdk::CheckError("timeout is not a duration");
  std::optional<RestoreOptions> deep;
  if (params.contains("restore")) {
    deep = parse_restore_options(params["restore"]);
    deep->pg_restore = pg_restore;
    deep->max_items = max_items;
  }

  nlohmann::json details = {{"path", path.string()}, {"pg_restore", pg_restore}};
  DetectedFormat fmt = detect_format(path);
  if (!fmt.problem.empty()) {
    std::string fix =
        fmt.problem == "does not exist"
            ? "The backup did not produce this file where expected. Check the backup job's log "
              "and output path (`ls -la " +
                  path.parent_path().string() + "`)."
        : fmt.problem == "is empty"
            ? "The dump job created the file but wrote nothing: it failed right at the start "
              "(connection, permissions, disk). Check its log for that run."
            : "Check that this check runs as a user that may read it (`ls -l " + path.string() +
                  "`) and what the backup job left there.";
    r.fail("Dump " + path.string() + " " + fmt.problem, fix, details);
    return;
  }
  unsigned long long size = path_size(path);
  if (!fmt.damaged.empty()) {
    details["size_bytes"] = size;
    details["compression"] = fmt.compression;
    r.fail("Dump " + path.string() + " is a damaged " + fmt.compression + " stream (" +
               fmt.damaged + ", " + size_text(size) + ")",
           "It cannot be decompressed, so nothing in it can be restored. Usually the backup was "
           "interrupted or the disk filled while it was written: check the backup job's log for "
           "that run, take a new dump, and keep the previous good one until then (`" +
               std::string(fmt.compression == "gzip" ? "gzip -t " : "file ") + path.string() +
               "` shows the damage).",
           details);
    return;
  }
  details["size_bytes"] = size;
  details["format"] = format_name(fmt.format);
  details["compression"] = fmt.compression;
  r.metric("pg_dump_size", static_cast<double>(size), "bytes");

  if (fmt.format == DumpFormat::unknown) {
    r.fail("Dump " + path.string() + " is not a PostgreSQL dump (" +
               (fmt.compression.empty() ? std::string("unrecognised content")
                                        : fmt.compression + "-compressed, unrecognised content") +
               ")",
           "Neither pg_restore nor psql can restore this file. Check what the backup job writes "
           "to " +
               path.string() +
               " (an error message instead of a dump is common when output "
               "is redirected).",
           details);
    return;
  }
  if (want_format != "auto" && want_format != format_name(fmt.format)) {
    r.fail("Dump " + path.string() + " is in " + std::string(format_name(fmt.format)) +
               " format, not " + want_format,
           "Either the backup job's pg_dump options changed (-F) or the checklist expects the "
           "wrong format; restores scripted for " +
               want_format + " will not work on this file.",
           details);
    return;
  }
  if (fmt.format != DumpFormat::plain && !fmt.compression.empty()) {
    r.fail(
        "Dump " + path.string() + " is a " + std::string(format_name(fmt.format)) +
            "-format archive wrapped in " + fmt.compression + ": pg_restore cannot read it as is",
        "pg_restore reads only the uncompressed archive (custom format is already compressed "
        "inside). Decompress to a scratch path first, e.g. `" +
            std::string(fmt.compression == "gzip" ? "gunzip -c " : "unzstd -c ") + path.string() +
            " > /tmp/restore.dump`, and stop compressing -Fc output in the "
            "backup job.",
        details);
    return;
  }

  support::ProcessOptions po;
  po.timeout = *timeout;
  po.cancelled = [](void* arg) { return static_cast<Reporter*>(arg)->cancelled(); };
  po.cancelled_arg = &r;

  std::set<std::string> data_tables, schema_tables;
  std::string what;
  if (fmt.format == DumpFormat::plain) {
    PlainScan scan = scan_plain(path, [&r] { return r.cancelled(); });
    details["uncompressed_bytes"] = scan.bytes;
    details["dumped_from"] = scan.dumped_from;
    details["dumped_by"] = scan.dumped_by;
    details["complete"] = scan.complete;
    details["cluster_dump"] = scan.cluster_dump;
    std::string restore_cmd =
        (fmt.compression.empty() ? std::string("psql -X -d <database> -f ") + path.string()
                                 : std::string(fmt.compression == "gzip"    ? "gunzip"
                                               : fmt.compression == "zstd"  ? "unzstd"
                                               : fmt.compression == "xz"    ? "unxz"
                                               : fmt.compression == "bzip2" ? "bunzip2"
                                                                            : "lz4 -d") +
                                       " -c " + path.string() + " | psql -X -d <database>");
    details["restore_with"] = restore_cmd;
    if (scan.cancelled) throw PgError("cancelled while reading the dump", "Rerun the check.");
    if (!scan.error.empty()) {
      r.fail("Dump " + path.string() + " cannot be read to the end: " + scan.error,
             "The " +
                 (fmt.compression.empty() ? std::string("file") : fmt.compression + " stream") +
                 " is damaged or was cut off (" + size_text(size) +
                 " on disk). Usually the backup was interrupted or the disk filled up; check the "
                 "backup job's log for that run and take a new dump.",
             details);
      return;
    }
    if (!scan.complete) {
      r.fail("Dump " + path.string() + " is incomplete: pg_dump's completion trailer is missing (" +
                 size_text(scan.bytes) + " of SQL)",
             "pg_dump ends every plain dump with '-- PostgreSQL database dump complete'; this one "
             "stops before that, so it was cut off (killed job, full disk, broken pipe in a "
             "`pg_dump | gzip` pipeline). Check the backup log for that run and take a new dump; "
             "with pipelines, use `set -o pipefail` so the job notices.",
             details);
      return;
    }
    data_tables = scan.table_data;
    schema_tables = scan.tables;
    what = "plain SQL" + (fmt.compression.empty() ? std::string() : " (" + fmt.compression + ")") +
           ", complete, " + std::to_string(scan.table_data.size()) + " tables with data";
    if (deep && (scan.has_connect || scan.has_create_database)) {
      details["tables_with_data"] = data_tables.size();
      r.error("Dump " + path.string() +
                  " is complete, but deep restore was refused: it switches "
                  "databases (\\connect" +
                  std::string(scan.has_create_database ? ", CREATE DATABASE" : "") + ")",
              "Restoring it would create or write to the databases it names, not only the scratch "
              "database. Verify a per-database dump made without --create (pg_dump, not "
              "pg_dumpall), or drop `restore` for this file.",
              details);
      return;
    }
  } else {
    // Reading every data block is what finds a truncated archive: the table of contents at
    // the start survives truncation. It runs alongside the listing.
    std::future<support::ProcessResult> full;
    auto full_started = std::chrono::steady_clock::now();
    if (full_read)
      full = std::async(std::launch::async, [&] {
        return support::run_process({pg_restore, "--file=/dev/null", path.string()}, po);
      });
    auto listing = support::run_process({pg_restore, "--list", path.string()}, po);
    if (full.valid()) full.wait();
    if (!listing.started) {
      r.error("Cannot run pg_restore: " + listing.start_error,
              "Install the PostgreSQL client tools (postgresql-client) or set `pg_restore` to its "
              "full path.",
              details);
      return;
    }
    if (!listing.ok()) {
      details["pg_restore_error"] = first_lines(listing.err, 5);
      r.fail("pg_restore cannot read the table of contents of " + path.string() + " (" +
                 listing.describe() + "): " + first_lines(listing.err, 2),
             "The archive header or table of contents is damaged, or it was written by a newer "
             "pg_dump than this pg_restore (compare `pg_restore --version` with the 'Dumped by' "
             "version). Take a new dump; keep the previous good one until then.",
             details);
      return;
    }
    TocInfo toc = parse_toc_listing(listing.out);
    details["toc_entries"] =
        toc.toc_entries >= 0 ? toc.toc_entries : static_cast<long long>(toc.entry_lines);
    details["dbname"] = toc.dbname;
    details["dumped_from"] = toc.dumped_from;
    details["dumped_by"] = toc.dumped_by;
    details["archive_created_at"] = toc.created;
    r.metric("pg_dump_toc_entries", details["toc_entries"].get<double>(), "count");
    data_tables = toc.table_data;
    schema_tables = toc.tables;
    if (full_read) {
      auto all = full.get();
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - full_started).count();
      details["full_read_seconds"] = secs;
      if (!all.ok()) {
        details["pg_restore_error"] = first_lines(all.err, 5);
        r.fail("Dump " + path.string() + " is damaged: its TOC lists " +
                   std::to_string(details["toc_entries"].get<long long>()) +
                   " entries but reading the data fails (" + first_lines(all.err, 1) + ")",
               "The file was cut off or corrupted after pg_dump wrote its table of contents (" +
                   size_text(size) +
                   " on disk). A restore would stop at the damaged table. Check the backup log "
                   "and free space for that run, and take a new dump.",
               details);
        return;
      }
    }
    what = std::string(format_name(fmt.format)) + " format, " +
           std::to_string(details["toc_entries"].get<long long>()) + " TOC entries, " +
           std::to_string(data_tables.size()) + " tables with data" +
           (full_read ? ", all data readable" : "");
  }
  details["tables_with_data"] = data_tables.size();
  r.metric("pg_dump_tables", static_cast<double>(data_tables.size()), "count");

  nlohmann::json missing = nlohmann::json::array(), schema_only = nlohmann::json::array();
  for (const auto& t : expect) {
    if (table_matches(data_tables, t)) continue;
    (table_matches(schema_tables, t) ? schema_only : missing).push_back(t);
  }
  details["expected_tables"] = expect;
  if (!missing.empty() || !schema_only.empty()) {
    details["missing_tables"] = missing;
    details["tables_without_data"] = schema_only;
    std::string list;
    for (const auto& t : missing) list += (list.empty() ? "" : ", ") + t.get<std::string>();
    for (const auto& t : schema_only)
      list += (list.empty() ? "" : ", ") + t.get<std::string>() + " (definition only, no data)";
    r.fail("Dump " + path.string() + " lacks expected table data: " + list,
           "The dump does not hold these tables' rows. Check the backup job's pg_dump options "
           "(--table/--exclude-table/--schema, --schema-only) and that the backup role can read "
           "them (pg.privileges); an unqualified name matches any schema.",
           details);
    return;
  }

  if (!deep) {
    r.ok("Dump " + path.string() + " is usable: " + what + ", " + size_text(size), details);
    return;
  }

  RestoreOutcome res = scratch_restore(path, fmt, *deep, r);
  nlohmann::json rd = {{"scratch_database", res.database},
                       {"created", res.created},
                       {"dropped", res.dropped},
                       {"restore_seconds", res.restore_seconds},
                       {"restore_exit", res.restore_status},
                       {"error_count", res.error_count},
                       {"ownership_errors", res.ownership_errors},
                       {"errors", res.errors},
                       {"queries", res.query_results}};
  if (!res.drop_error.empty()) rd["drop_error"] = res.drop_error;
  if (!res.leftovers.empty()) rd["leftover_scratch_databases"] = res.leftovers;
  details["restore"] = rd;
  std::string leftover_fix;
  if (!res.leftovers.empty()) {
    leftover_fix =
        "\nEarlier interrupted runs left scratch databases behind; drop them when no "
        "check is running:";
    for (const auto& l : res.leftovers) leftover_fix += "\n  DROP DATABASE " + sql_ident(l) + ";";
  }
  if (!res.setup_error.empty()) {
    r.error(res.setup_error + " (the dump itself is readable: " + what + ")",
            res.setup_remediation + leftover_fix, details);
    return;
  }
  r.metric("pg_restore_duration", res.restore_seconds, "seconds");
  std::string dropped_fix = res.created && !res.dropped
                                ? "\nThe scratch database could not be dropped (" + res.drop_error +
                                      "); drop it by hand: DROP DATABASE " +
                                      sql_ident(res.database) + ";"
                                : "";
  if (!res.restore_ok) {
    r.fail("Test restore of " + path.string() + " failed: " + std::to_string(res.error_count) +
               " error(s), " + res.restore_status +
               (res.errors.empty() ? std::string() : "; first: " + res.errors.front()),
           "A real restore of this dump would hit the same errors. Missing roles or extensions "
           "on the target, a newer dump than the server, or a damaged file are the usual "
           "causes; the errors are in the details." +
               dropped_fix + leftover_fix,
           details);
    return;
  }
  if (!res.query_failures.empty()) {
    std::string list;
    for (const auto& f : res.query_failures) list += (list.empty() ? "" : "; ") + f;
    r.fail("Test restore of " + path.string() + " succeeded but the checks on it failed: " + list,
           "The dump restores but does not hold the data expected (empty or short tables). "
           "Compare with the live database and check what the backup job dumps." +
               dropped_fix + leftover_fix,
           details);
    return;
  }
  std::string summary = "Dump " + path.string() + " restores cleanly in " +
                        format_duration(std::chrono::milliseconds(
                            static_cast<long long>(res.restore_seconds * 1000))) +
                        " (" + what + ")";
  if (res.ownership_errors > 0)
    summary += "; " + std::to_string(res.ownership_errors) +
               " owner/privilege statements skipped (restored as a non-superuser)";
  if (!res.query_results.empty())
    summary += "; " + std::to_string(res.query_results.size()) + " check quer" +
               (res.query_results.size() == 1 ? "y" : "ies") + " passed";
  if (!dropped_fix.empty() || !leftover_fix.empty()) {
    r.warn(summary + ", but scratch databases are left on the server",
           dropped_fix.substr(dropped_fix.empty() ? 0 : 1) + leftover_fix, details);
    return;
  }
  r.ok(summary, details);
}

}  // namespace

CheckDef dump_verify_check() {
  using namespace schema;
  json props = {
      {"path", string_prop("The dump: a file (custom, tar, or plain SQL, optionally gzip/zstd/xz/"
                           "bzip2/lz4-compressed) or a directory-format dump.")},
      {"pattern",
       string_prop("When given, `path` is a directory and the newest entry in it whose name "
                   "matches this glob (e.g. \"trixtech_*.dump\") is verified. Default: `path` is "
                   "the dump itself.")},
      {"format",
       {{"type", "string"},
        {"enum", {"auto", "custom", "tar", "directory", "plain"}},
        {"default", "auto"},
        {"description",
         "Expected format; fails when the file is in another one. Default "
         "\"auto\" (detect)."}}},
      {"expect_tables",
       string_list_prop("Tables whose data must be in the dump, e.g. [\"users\", \"bookings\"] "
                        "(\"schema.table\" to pin the schema). Default: none.")},
      {"full_read",
       boolean_prop("For archive formats, read every data block (pg_restore to /dev/null), "
                    "which is what finds a truncated archive; false only lists the table of "
                    "contents. Default true.",
                    true)},
      {"pg_restore", string_prop("pg_restore to use (name on PATH or path). Default "
                                 "\"pg_restore\".",
                                 "pg_restore")},
      {"timeout", duration_prop("Limit for each pg_restore run of the basic verification. "
                                "Default \"30m\".",
                                "30m")},
      {"max_items", max_items_prop()},
      {"restore", restore_schema()},
  };
  return {"pg.dump_verify",
          "A dump file is complete and readable; optionally restores it into a scratch database",
          "Verifies `path`, or with `pattern` the newest matching dump in the directory `path`. "
          "Custom, tar and directory formats: `pg_restore --list` must succeed (reporting the "
          "TOC entries and the versions that made it), then every data block is read "
          "(`full_read`), since a truncated archive still has an intact table of contents. "
          "Plain SQL, compressed or not: one streaming pass must reach pg_dump's completion "
          "trailer. Expected tables must have data in the dump. A compressed custom archive "
          "(which pg_restore cannot read) is reported as such.\n\nDeep mode (`restore`, opt-in): "
          "creates a scratch database with a unique name on the given server, restores into it "
          "(pg_restore --no-owner --no-privileges, or psql for plain SQL), runs the given "
          "queries (e.g. row counts with a minimum), reports the time to restore and drops the "
          "scratch database; it never touches any other database, and refuses plain dumps that "
          "\\connect elsewhere. Scratch databases left by interrupted runs are reported.\n\n"
          "Metrics: `pg_dump_size` (bytes), `pg_dump_toc_entries`, `pg_dump_tables` (count), "
          "`pg_restore_duration` (seconds, deep mode).",
          object(props, {"path"}).dump(), guarded(run)};
}

}  // namespace backup_doctor::pg
