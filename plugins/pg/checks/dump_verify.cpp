// pg.dump_verify: is a dump file usable? Reads it whole (pg_restore for archive formats, one
// streaming pass for plain SQL) and, in the opt-in deep mode, restores it into a scratch database.
//
// The dump and its directory belong to the backup account: the dump is opened once without
// following links (dump_source.hpp), and pg_restore and psql read it from that descriptor, as
// the unprivileged `run_as` account, never as root (client_tools.hpp, scratch_restore.hpp).
#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/user_access.hpp>
#include "checks.hpp"
#include "client_tools.hpp"
#include "dump_inspect.hpp"
#include "dump_source.hpp"
#include "schema.hpp"
#include "scratch_restore.hpp"
#include "secrets.hpp"

#include <backup_doctor/duration.hpp>

#include <pwd.h>
#include <unistd.h>

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

std::string parent_of(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

std::string owner_name(uid_t uid) {
  struct passwd* pw = getpwuid(uid);
  return pw ? pw->pw_name : "uid " + std::to_string(uid);
}

struct Settings {
  std::string path, pattern, want_format, pg_restore;
  std::vector<std::string> expect;
  bool full_read = true;
  size_t max_items = 20;
  std::chrono::milliseconds timeout{};
  std::optional<support::UserIds> run_as;
  std::optional<RestoreOptions> deep;
  std::string psql;
};

Settings parse_settings(const nlohmann::json& params) {
  Settings s;
  s.path = params.at("path").get<std::string>();
  s.pattern = params.value("pattern", std::string());
  s.want_format = params.value("format", std::string("auto"));
  s.expect = params.value("expect_tables", std::vector<std::string>{});
  s.full_read = params.value("full_read", true);
  s.pg_restore = params.value("pg_restore", std::string("pg_restore"));
  s.max_items = params.value("max_items", 20);
  auto timeout = parse_duration(params.value("timeout", std::string("30m")));
  if (!timeout) throw sdk::CheckError("timeout is not a duration");
  s.timeout = *timeout;
  s.run_as = tool_account(params.value("run_as", std::string("nobody")));
  if (params.contains("restore")) {
    s.deep = parse_restore_options(params["restore"]);
    s.deep->max_items = s.max_items;
    s.deep->run_as = s.run_as;
    s.psql = s.deep->psql;
  }
  return s;
}

// Reports why the dump (or the newest match of `pattern`) cannot be read; `what` names it.
void report_refusal(const OpenedDump& o, const std::string& what, const std::string& path,
                    nlohmann::json details, sdk::Context& r) {
  using support::Refusal;
  details["path"] = path;
  switch (o.refusal) {
    case Refusal::missing:
      r.fail(what + " " + path + " does not exist",
             "The backup did not produce this file where expected. Check the backup job's log "
             "and output path (`ls -la " +
                 parent_of(path) + "`).",
             details);
      return;
    case Refusal::symlink:
      details["link_target"] = o.link_target;
      r.fail(what + " " + path + " is a symbolic link to " + o.link_target + "; not followed",
             "backup-doctor does not follow links in backup directories: whoever can write "
             "there could point one at a file only root may read. Point `path` at the dump "
             "itself (with `pattern`, match the dated files, not a 'latest' link), and check "
             "who made this link and why (`ls -l " +
                 path + "`).",
             details);
      return;
    case Refusal::wrong_type:
      details["file_type"] = support::file_type_word(o.type);
      r.fail(what + " " + path + " is a " + support::file_type_word(o.type) +
                 ", not a file or a directory-format dump; not opened",
             "A dump is a regular file or a directory. Opening a FIFO would hang the check "
             "until whoever holds its other end writes, and opening a device can act on it. "
             "Find out who made it and what the backup job writes instead (`ls -la " +
                 parent_of(path) + "`); remove it if it is not the backup's.",
             details);
      return;
    case Refusal::denied:
      r.fail(what + " " + path + " cannot be opened: " + o.message,
             "Check that this check runs as a user that may read it (`ls -l " + path + "`).",
             details);
      return;
    default:
      r.fail(what + " " + path + " was not opened: " + o.message,
             "backup-doctor opens backup files only where no other user could have swapped "
             "them for something else; see the message, and give `path` without links that "
             "another user made (`ls -la " +
                 parent_of(path) + "`).",
             details);
  }
}

std::optional<DumpSource> locate(const Settings& s, sdk::Context& r) {
  if (s.pattern.empty()) {
    OpenedDump o = open_dump(s.path);
    if (!o.dump) report_refusal(o, "Dump", s.path, {}, r);
    return std::move(o.dump);
  }
  nlohmann::json details = {{"path", s.path}, {"pattern", s.pattern}};
  PickedDump p = pick_newest(s.path, s.pattern);
  if (p.dir_refusal == support::Refusal::missing) {
    r.fail("Backup directory " + s.path + " does not exist",
           "Check the backup job's output directory and that its volume is mounted (`findmnt "
           "-T " +
               s.path + "`).",
           details);
    return std::nullopt;
  }
  if (!p.dir_error.empty()) {
    r.fail("Backup directory " + s.path + " cannot be read: " + p.dir_error,
           "backup-doctor lists backup directories without following links another user made; "
           "give `path` as the real directory, readable by this check (`ls -ld " +
               s.path + "`).",
           details);
    return std::nullopt;
  }
  if (p.matches == 0) {
    details["matches"] = 0;
    r.fail("No dump matching " + s.pattern + " in " + s.path,
           "Nothing to verify: the backup job wrote no dump there, or `pattern` does not match "
           "its file names (`ls -la " +
               s.path + "`).",
           details);
    return std::nullopt;
  }
  std::string full = s.path + (s.path.ends_with('/') ? "" : "/") + p.name;
  details["matches"] = p.matches;
  if (!p.opened.dump)
    report_refusal(p.opened, "The newest entry matching " + s.pattern + ",", full, details, r);
  return std::move(p.opened.dump);
}

// The checks that need no reading beyond the header: false when one reported.
bool usable_format(const DumpSource& dump, const DetectedFormat& fmt, const Settings& s,
                   unsigned long long size, nlohmann::json& details, sdk::Context& r) {
  const std::string& path = dump.path;
  if (!fmt.problem.empty()) {
    std::string fix =
        fmt.problem == "is empty"
            ? "The dump job created the file but wrote nothing: it failed right at the start "
              "(connection, permissions, disk). Check its log for that run."
            : "Check that this check runs as a user that may read it (`ls -l " + path +
                  "`) and what the backup job left there.";
    r.fail("Dump " + path + " " + fmt.problem, fix, details);
    return false;
  }
  details["size_bytes"] = size;
  details["compression"] = fmt.compression;
  if (!fmt.foreign.empty()) {
    r.fail("Dump " + path + " holds " + fmt.foreign + ", which pg_dump never writes",
           "A directory-format dump holds regular files only, and pg_restore opens them by name: "
           "a link would be followed and a FIFO would block it, so the dump is not read. "
           "Someone or something changed it after pg_dump wrote it: find out who can write to " +
               path + " (`ls -la " + path + "`) and take a new dump.",
           details);
    return false;
  }
  if (!fmt.damaged.empty()) {
    r.fail("Dump " + path + " is a damaged " + fmt.compression + " stream (" + fmt.damaged + ", " +
               size_text(size) + ")",
           "It cannot be decompressed, so nothing in it can be restored. Usually the backup was "
           "interrupted or the disk filled while it was written: check the backup job's log for "
           "that run, take a new dump, and keep the previous good one until then (`" +
               std::string(fmt.compression == "gzip" ? "gzip -t " : "file ") + path +
               "` shows the damage).",
           details);
    return false;
  }
  details["format"] = format_name(fmt.format);
  r.metric("pg_dump_size", static_cast<double>(size), "bytes");
  if (fmt.format == DumpFormat::unknown) {
    r.fail("Dump " + path + " is not a PostgreSQL dump (" +
               (fmt.compression.empty() ? std::string("unrecognised content")
                                        : fmt.compression + "-compressed, unrecognised content") +
               ")",
           "Neither pg_restore nor psql can restore this file. Check what the backup job writes "
           "to " +
               path + " (an error message instead of a dump is common when output is redirected).",
           details);
    return false;
  }
  if (s.want_format != "auto" && s.want_format != format_name(fmt.format)) {
    r.fail("Dump " + path + " is in " + std::string(format_name(fmt.format)) + " format, not " +
               s.want_format,
           "Either the backup job's pg_dump options changed (-F) or the checklist expects the "
           "wrong format; restores scripted for " +
               s.want_format + " will not work on this file.",
           details);
    return false;
  }
  if (fmt.format != DumpFormat::plain && !fmt.compression.empty()) {
    r.fail("Dump " + path + " is a " + std::string(format_name(fmt.format)) +
               "-format archive wrapped in " + fmt.compression +
               ": pg_restore cannot read it as is",
           "pg_restore reads only the uncompressed archive (custom format is already compressed "
           "inside). Decompress to a scratch path first, e.g. `" +
               std::string(fmt.compression == "gzip" ? "gunzip -c " : "unzstd -c ") + path +
               " > /tmp/restore.dump`, and stop compressing -Fc output in the backup job.",
           details);
    return false;
  }
  return true;
}

std::string plain_restore_command(const std::string& path, const std::string& compression) {
  if (compression.empty()) return "psql -X -d <database> -f " + path;
  std::string tool = compression == "gzip"    ? "gunzip"
                     : compression == "zstd"  ? "unzstd"
                     : compression == "xz"    ? "unxz"
                     : compression == "bzip2" ? "bunzip2"
                                              : "lz4 -d";
  return tool + " -c " + path + " | psql -X -d <database>";
}

struct Contents {
  std::set<std::string> data_tables, schema_tables;
  std::string what;  // for the summary
};

// Plain SQL: one pass must reach pg_dump's trailer, with nothing psql would read as a command.
std::optional<Contents> verify_plain(const DumpSource& dump, const DetectedFormat& fmt,
                                     const Settings& s, unsigned long long size,
                                     nlohmann::json& details, sdk::Context& r) {
  const std::string& path = dump.path;
  PlainScan scan = scan_plain(dump, [&r] { return r.cancelled(); });
  details["uncompressed_bytes"] = scan.bytes;
  details["dumped_from"] = scan.dumped_from;
  details["dumped_by"] = scan.dumped_by;
  details["complete"] = scan.complete;
  details["cluster_dump"] = scan.cluster_dump;
  details["restore_with"] = plain_restore_command(path, fmt.compression);
  if (scan.cancelled) throw sdk::CheckError("cancelled while reading the dump", "Rerun the check.");
  if (!scan.error.empty()) {
    r.fail("Dump " + path + " cannot be read to the end: " + scan.error,
           "The " + (fmt.compression.empty() ? std::string("file") : fmt.compression + " stream") +
               " is damaged or was cut off (" + size_text(size) +
               " on disk). Usually the backup was interrupted or the disk filled up; check the "
               "backup job's log for that run and take a new dump.",
           details);
    return std::nullopt;
  }
  if (scan.psql_command) {
    const ScriptFinding& f = *scan.psql_command;
    details["psql_command"] = {{"line", f.line}, {"what", f.what}};
    bool meta = f.what.starts_with("\\");
    r.fail("Dump " + path + (meta ? " contains a psql meta-command at line " : " has, at line ") +
               std::to_string(f.line) + (meta ? ": " : ", what psql would not read as SQL: ") +
               f.what,
           "pg_dump never writes such a thing into a dump (its only backslash lines are "
           "\\connect, \\restrict and \\unrestrict): someone or something changed this file "
           "after pg_dump wrote it. Do not restore it with psql. Find out who can write to " +
               parent_of(path) + " (`ls -la " + parent_of(path) +
               "`), compare the file with the backup job's log and checksums, and take a new "
               "dump.",
           details);
    return std::nullopt;
  }
  if (!scan.complete) {
    r.fail("Dump " + path + " is incomplete: pg_dump's completion trailer is missing (" +
               size_text(scan.bytes) + " of SQL)",
           "pg_dump ends every plain dump with '-- PostgreSQL database dump complete'; this one "
           "stops before that, so it was cut off (killed job, full disk, broken pipe in a "
           "`pg_dump | gzip` pipeline). Check the backup log for that run and take a new dump; "
           "with pipelines, use `set -o pipefail` so the job notices.",
           details);
    return std::nullopt;
  }
  Contents c{scan.table_data, scan.tables,
             "plain SQL" +
                 (fmt.compression.empty() ? std::string() : " (" + fmt.compression + ")") +
                 ", complete, " + std::to_string(scan.table_data.size()) + " tables with data"};
  if (s.deep && (scan.has_connect || scan.cluster_statement)) {
    details["tables_with_data"] = c.data_tables.size();
    std::string why = scan.has_connect ? "switches databases (\\connect)" : "";
    if (scan.cluster_statement)
      why += (why.empty() ? "" : " and ") + std::string("runs ") + scan.cluster_statement->what +
             " (line " + std::to_string(scan.cluster_statement->line) + ")";
    details["restore_refused"] = why;
    r.error("Dump " + path + " is complete, but deep restore was refused: it " + why,
            "Restoring it would create, change or write to databases or roles other than the "
            "scratch database. Verify a per-database dump made without --create (pg_dump, not "
            "pg_dumpall), or drop `restore` for this file.",
            details);
    return std::nullopt;
  }
  return c;
}

// pg_restore reads the dump from its stdin (our descriptor), as `run_as`; a directory-format
// dump it must open by name (/proc/self/fd/0), so `run_as` must be able to read it.
support::ProcessResult read_archive(const DumpSource& dump, const std::string& pg_restore,
                                    const std::string& mode, support::ProcessOptions po) {
  support::UniqueFd input = dump.reopen();
  if (!input) {
    support::ProcessResult failed;
    failed.start_error = "the dump could not be opened again";
    return failed;
  }
  po.stdin_fd = input.get();
  std::vector<std::string> argv = {pg_restore, mode};
  if (dump.is_directory()) argv.push_back("/proc/self/fd/0");
  return support::run_process(argv, po);
}

// Why `run_as` cannot read a directory-format dump ("" when it can, or for a file).
std::string unreadable_directory(const DumpSource& dump, const Settings& s) {
  if (!dump.is_directory() || !s.run_as) return {};
  std::string toc = "/proc/self/fd/" + std::to_string(dump.fd.get()) + "/toc.dat";
  support::AccessAnswer a = support::test_access_as(*s.run_as, toc, support::Access::read);
  return a.tested && !a.allowed ? a.reason : std::string();
}

std::optional<Contents> verify_archive(const DumpSource& dump, const DetectedFormat& fmt,
                                       const Settings& s, const std::string& pg_restore,
                                       unsigned long long size, nlohmann::json& details,
                                       sdk::Context& r) {
  const std::string& path = dump.path;
  if (std::string why = unreadable_directory(dump, s); !why.empty()) {
    r.error("pg_restore, run as " + s.run_as->name + ", cannot read the directory-format dump " +
                path + " (" + why + ")",
            "pg_restore never runs as root on a dump, and a directory-format dump is read by "
            "name, so the account in `run_as` must be able to read it. Set `run_as` to the "
            "account that owns the dumps (here " +
                owner_name(dump.st.st_uid) + "), or make the dump readable to " + s.run_as->name +
                ".",
            details);
    return std::nullopt;
  }
  support::ProcessOptions po;
  po.timeout = s.timeout;
  po.as_user = s.run_as;
  po.kill_grace = std::chrono::milliseconds(300);
  po.cancelled = [](void* arg) { return sdk::context_cancelled(arg); };
  po.cancelled_arg = &r;
  // Reading every data block is what finds a truncated archive: the table of contents at
  // the start survives truncation. It runs alongside the listing.
  std::future<support::ProcessResult> full;
  auto full_started = std::chrono::steady_clock::now();
  if (s.full_read)
    full = std::async(std::launch::async,
                      [&] { return read_archive(dump, pg_restore, "--file=/dev/null", po); });
  auto listing = read_archive(dump, pg_restore, "--list", po);
  if (full.valid()) full.wait();
  if (r.cancelled()) throw sdk::CheckError("cancelled while reading the dump", "Rerun the check.");
  if (!listing.started) {
    r.error("Cannot run pg_restore: " + listing.start_error,
            "Install the PostgreSQL client tools (postgresql-client) or set `pg_restore` to its "
            "full path.",
            details);
    return std::nullopt;
  }
  if (!listing.ok()) {
    details["pg_restore_error"] = first_lines(listing.err, 5);
    r.fail("pg_restore cannot read the table of contents of " + path + " (" + listing.describe() +
               "): " + first_lines(listing.err, 2),
           "The archive header or table of contents is damaged, or it was written by a newer "
           "pg_dump than this pg_restore (compare `pg_restore --version` with the 'Dumped by' "
           "version). Take a new dump; keep the previous good one until then.",
           details);
    return std::nullopt;
  }
  TocInfo toc = parse_toc_listing(listing.out);
  long long entries =
      toc.toc_entries >= 0 ? toc.toc_entries : static_cast<long long>(toc.entry_lines);
  details["toc_entries"] = entries;
  details["dbname"] = toc.dbname;
  details["dumped_from"] = toc.dumped_from;
  details["dumped_by"] = toc.dumped_by;
  details["archive_created_at"] = toc.created;
  r.metric("pg_dump_toc_entries", static_cast<double>(entries), "count");
  if (s.full_read) {
    auto all = full.get();
    details["full_read_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - full_started).count();
    if (!all.ok()) {
      details["pg_restore_error"] = first_lines(all.err, 5);
      r.fail("Dump " + path + " is damaged: its TOC lists " + std::to_string(entries) +
                 " entries but reading the data fails (" + first_lines(all.err, 1) + ")",
             "The file was cut off or corrupted after pg_dump wrote its table of contents (" +
                 size_text(size) +
                 " on disk). A restore would stop at the damaged table. Check the backup log "
                 "and free space for that run, and take a new dump.",
             details);
      return std::nullopt;
    }
  }
  return Contents{toc.table_data, toc.tables,
                  std::string(format_name(fmt.format)) + " format, " + std::to_string(entries) +
                      " TOC entries, " + std::to_string(toc.table_data.size()) +
                      " tables with data" + (s.full_read ? ", all data readable" : "")};
}

// False when expected tables lack data (reported).
bool expected_tables_present(const std::string& path, const Contents& c, const Settings& s,
                             nlohmann::json& details, sdk::Context& r) {
  nlohmann::json missing = nlohmann::json::array(), schema_only = nlohmann::json::array();
  for (const auto& t : s.expect) {
    if (table_matches(c.data_tables, t)) continue;
    (table_matches(c.schema_tables, t) ? schema_only : missing).push_back(t);
  }
  details["expected_tables"] = s.expect;
  if (missing.empty() && schema_only.empty()) return true;
  details["missing_tables"] = missing;
  details["tables_without_data"] = schema_only;
  std::string list;
  for (const auto& t : missing) list += (list.empty() ? "" : ", ") + t.get<std::string>();
  for (const auto& t : schema_only)
    list += (list.empty() ? "" : ", ") + t.get<std::string>() + " (definition only, no data)";
  r.fail("Dump " + path + " lacks expected table data: " + list,
         "The dump does not hold these tables' rows. Check the backup job's pg_dump options "
         "(--table/--exclude-table/--schema, --schema-only) and that the backup role can read "
         "them (pg.privileges); an unqualified name matches any schema.",
         details);
  return false;
}

nlohmann::json restore_details(const RestoreOutcome& res) {
  nlohmann::json rd = {{"scratch_database", res.database},
                       {"created", res.created},
                       {"dropped", res.dropped},
                       {"restore_seconds", res.restore_seconds},
                       {"restore_exit", res.restore_status},
                       {"error_count", res.error_count},
                       {"ownership_errors", res.ownership_errors},
                       {"errors", res.errors},
                       {"queries", res.query_results},
                       {"jobs", res.jobs_used}};
  if (!res.drop_error.empty()) rd["drop_error"] = res.drop_error;
  if (!res.leftovers.empty()) rd["leftover_scratch_databases"] = res.leftovers;
  if (!res.jobs_note.empty()) rd["jobs_note"] = res.jobs_note;
  if (!res.stopped_at.empty()) rd["stopped_at"] = res.stopped_at;
  if (res.created) rd["psql_restricted"] = res.psql_restricted;
  return rd;
}

void report_restore(const std::string& path, const RestoreOutcome& res, const std::string& what,
                    nlohmann::json& details, sdk::Context& r) {
  std::string leftover_fix;
  if (!res.leftovers.empty()) {
    leftover_fix =
        "\nEarlier interrupted runs left scratch databases behind; drop them when no "
        "check is running:";
    for (const auto& l : res.leftovers) leftover_fix += "\n  DROP DATABASE " + sql_ident(l) + ";";
  }
  std::string dropped_fix = res.created && !res.dropped
                                ? "\nThe scratch database could not be dropped (" + res.drop_error +
                                      "); drop it by hand: DROP DATABASE " +
                                      sql_ident(res.database) + ";"
                                : "";
  if (!res.setup_error.empty()) {
    r.error(res.setup_error + " (the dump itself is readable: " + what + ")",
            res.setup_remediation + dropped_fix + leftover_fix, details);
    return;
  }
  if (res.cancelled) {
    r.error("Test restore of " + path + " was stopped after " +
                format_duration(
                    std::chrono::milliseconds(static_cast<long long>(res.restore_seconds * 1000))) +
                ": the check's time was up" +
                (res.dropped ? ", and the scratch database was dropped" : ""),
            "Give the check a `timeout` longer than the restore takes (and `restore.timeout` "
            "between the two)." +
                dropped_fix + leftover_fix,
            details);
    return;
  }
  r.metric("pg_restore_duration", res.restore_seconds, "seconds");
  if (!res.stopped_at.empty()) {
    r.fail("Test restore of " + path + " was stopped at " + res.stopped_at,
           "Nothing from that point on reached psql. The file changed after it was checked, or "
           "psql would have read something other than SQL there: pg_dump never writes that, so "
           "find out who changed the file (`ls -la " +
               parent_of(path) + "`) and take a new dump." + dropped_fix + leftover_fix,
           details);
    return;
  }
  if (!res.restore_ok) {
    r.fail("Test restore of " + path + " failed: " + std::to_string(res.error_count) +
               " error(s), " + res.restore_status +
               (res.errors.empty() ? std::string() : "; first: " + res.errors.front()),
           "A real restore of this dump would hit the same errors. Missing roles or extensions "
           "on the target, a newer dump than the server, or a damaged file are the usual "
           "causes; the errors are in the details." +
               std::string(res.psql_restricted || !res.created
                               ? ""
                               : " (This psql has no \\restrict, so it stopped at the first "
                                 "error; psql 13.22, 14.19, 15.14, 16.10, 17.6 or later goes "
                                 "on past owner and privilege errors.)") +
               dropped_fix + leftover_fix,
           details);
    return;
  }
  if (!res.query_failures.empty()) {
    std::string list;
    for (const auto& f : res.query_failures) list += (list.empty() ? "" : "; ") + f;
    r.fail("Test restore of " + path + " succeeded but the checks on it failed: " + list,
           "The dump restores but does not hold the data expected (empty or short tables). "
           "Compare with the live database and check what the backup job dumps." +
               dropped_fix + leftover_fix,
           details);
    return;
  }
  std::string summary = "Dump " + path + " restores cleanly in " +
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

// The client programs the run needs, or an error reported (false).
bool resolve_tools(const DetectedFormat& fmt, Settings& s, nlohmann::json& details,
                   sdk::Context& r) {
  auto needed = [&](const std::string& requested, const std::string& name) -> std::string {
    ClientTool t = resolve_client(requested, name);
    details[name] = t.path.empty() ? requested : t.path;
    if (!t.problem.empty()) {
      r.error("Cannot run " + name + ": " + t.problem, t.remediation, details);
      return {};
    }
    return t.path;
  };
  if (fmt.format != DumpFormat::plain) {
    s.pg_restore = needed(s.pg_restore, "pg_restore");
    if (s.pg_restore.empty()) return false;
    if (s.deep) s.deep->pg_restore = s.pg_restore;
  } else if (s.deep) {
    s.deep->psql = needed(s.psql, "psql");
    if (s.deep->psql.empty()) return false;
  }
  return true;
}

void run(const nlohmann::json& params, sdk::Context& r) {
  Settings s = parse_settings(params);
  std::optional<DumpSource> dump = locate(s, r);
  if (!dump) return;
  const std::string path = dump->path;
  nlohmann::json details = {{"path", path},
                            {"run_as", s.run_as ? s.run_as->name : std::string("(this user)")}};
  if (!s.pattern.empty()) details["pattern"] = s.pattern;
  DetectedFormat fmt = detect_format(*dump);
  unsigned long long size = dump_size(*dump);
  if (!usable_format(*dump, fmt, s, size, details, r)) return;
  if (!resolve_tools(fmt, s, details, r)) return;
  std::optional<Contents> contents =
      fmt.format == DumpFormat::plain
          ? verify_plain(*dump, fmt, s, size, details, r)
          : verify_archive(*dump, fmt, s, s.pg_restore, size, details, r);
  if (!contents) return;
  details["tables_with_data"] = contents->data_tables.size();
  r.metric("pg_dump_tables", static_cast<double>(contents->data_tables.size()), "count");
  if (!expected_tables_present(path, *contents, s, details, r)) return;
  if (!s.deep) {
    r.ok("Dump " + path + " is usable: " + contents->what + ", " + size_text(size), details);
    return;
  }
  RestoreOutcome res = scratch_restore(*dump, fmt, *s.deep, r);
  details["restore"] = restore_details(res);
  report_restore(path, res, contents->what, details, r);
}

}  // namespace

sdk::CheckType dump_verify_check() {
  using namespace schema;
  json props = {
      {"path", string_prop("The dump: a file (custom, tar, or plain SQL, optionally gzip/zstd/xz/"
                           "bzip2/lz4-compressed) or a directory-format dump. A symbolic link, "
                           "a FIFO or a device is reported, never opened.")},
      {"pattern",
       string_prop("When given, `path` is a directory and the newest entry in it whose name "
                   "matches this glob (e.g. \"trixtech_*.dump\") is verified; a link, FIFO or "
                   "device as the newest entry is reported, never followed. Default: `path` is "
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
      {"pg_restore", string_prop("pg_restore to use (name on PATH or path; as root, only one "
                                 "that root alone can change). Default \"pg_restore\".",
                                 "pg_restore")},
      {"run_as",
       string_prop("The unprivileged account pg_restore and psql run as when the check runs as "
                   "root: they read a dump that the backup account controls, so never as root. "
                   "A directory-format dump is read by name, so this account must be able to "
                   "read it (e.g. the account that owns the dumps). Not root. When the check "
                   "does not run as root, the tools run as the check does. Default \"nobody\".",
                   "nobody")},
      {"timeout", sdk::duration_schema("Limit for each pg_restore run of the basic verification. "
                                       "Default \"30m\".",
                                       "30m")},
      {"max_items", max_items_prop()},
      {"restore", restore_schema()},
  };
  return {
      .type = "pg.dump_verify",
      .summary =
          "A dump file is complete and readable; optionally restores it into a scratch database",
      .doc =
          "Verifies `path`, or with `pattern` the newest matching dump in the directory `path`. "
          "The dump is opened once, without following links, and pg_restore and psql read it "
          "from that descriptor as `run_as` (never as root). "
          "Custom, tar and directory formats: `pg_restore --list` must succeed (reporting the "
          "TOC entries and the versions that made it), then every data block is read "
          "(`full_read`), since a truncated archive still has an intact table of contents. "
          "Plain SQL, compressed or not: one streaming pass must reach pg_dump's completion "
          "trailer, and the dump must hold nothing psql would run as a meta-command (`\\!`, "
          "`\\c`, `\\o`, ...; pg_dump writes none but \\connect, \\restrict and \\unrestrict), "
          "which means someone changed the file. Expected tables must have data in the dump. "
          "A compressed custom archive (which pg_restore cannot read) is reported as such.\n\n"
          "Deep mode (`restore`, opt-in): creates a scratch database with a unique name on the "
          "given server, restores into it (pg_restore --no-owner --no-privileges, or psql for "
          "plain SQL, fed through the same guard and in psql's restricted mode where psql has "
          "it), runs the given queries (e.g. row counts with a minimum), reports the time to "
          "restore and drops the scratch database, also when the check is stopped at its "
          "timeout; it never touches any other database, refuses plain dumps that \\connect "
          "elsewhere or create, change or drop databases or roles, and refuses a restore role "
          "that could reach beyond the scratch database (superuser, CREATEROLE, "
          "pg_execute_server_program, pg_read_server_files, pg_write_server_files). Scratch "
          "databases left by interrupted runs are reported.\n\n"
          "Metrics: `pg_dump_size` (bytes), `pg_dump_toc_entries`, `pg_dump_tables` (count), "
          "`pg_restore_duration` (seconds, deep mode).",
      .params_schema = object(props, {"path"}),
      .run = &run};
}

}  // namespace backup_doctor::pg
