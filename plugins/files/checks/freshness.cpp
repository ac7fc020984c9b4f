// files.freshness: is the newest backup recent enough, and is it complete-looking? A truncated
// backup has a fresh timestamp, so its size is compared with the median of the ones before it.
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "file_facts.hpp"
#include "inspect.hpp"

#include <fnmatch.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::duration_param;
using sdk::errno_text;
using sdk::human_size;
using sdk::iso_time;
using sdk::now_seconds;
using sdk::required_string;
using sdk::shell_quote;
using sdk::string_list;
using sdk::user_name;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
             "description": "Directory the backups are written to, e.g. /opt/backups/database."},
    "pattern": {"type": "string", "minLength": 1, "default": "*",
                "description": "Shell glob the backup names match, e.g. \"*.sql.gz\". Matched against the file name, or against the path relative to `path` when it contains a '/'. Default: \"*\"."},
    "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
                "description": "Globs of names to ignore even when they match `pattern`, e.g. [\"*.tmp\", \"*.partial\"]. Default: none."},
    "recursive": {"type": "boolean", "default": false,
                  "description": "Also look in subdirectories. Default: false."},
    "entry_type": {"type": "string", "enum": ["file", "dir", "any"], "default": "file",
                   "description": "Kind of entry a backup is: a file (dump, archive) or a directory (dated snapshot; its size is the total of the files in it). Default: file."},
    "max_age": {"$ref": "bd:duration", "default": "25h",
                "description": "The newest backup must be younger than this. Default: \"25h\" (a daily backup plus an hour of slack)."},
    "min_ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                  "description": "Warn when the newest backup is smaller than this fraction of the median size of the previous ones (0 disables). Default: 0.5."},
    "history": {"type": "integer", "minimum": 1, "default": 5,
                "description": "How many previous backups the median is taken over. Default: 5."},
    "min_size": {"type": "integer", "minimum": 0, "default": 1,
                 "description": "Fail when the newest backup is smaller than this many bytes (0 disables). Default: 1, so an empty backup fails."},
    "max_items": {"type": "integer", "minimum": 1, "default": 10,
                  "description": "How many of the most recent backups are listed in the details. Default: 10."}
  }
})";

struct Entry {
  std::string path, rel;
  double mtime = 0;
  uintmax_t size = 0;
  bool is_dir = false;
};

bool matches(const std::string& pattern, const std::string& name, const std::string& rel) {
  if (pattern.find('/') != std::string::npos)
    return fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0;
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// Opens `rel` ("a/b/snapshot") below the directory open on `root`, one component at a time,
// never following a link.
support::SafeOpened open_below(int root, const std::string& root_path, const std::string& rel) {
  support::SafeOpened cur;
  int dir = root;
  std::string dir_path = root_path;
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string name = rel.substr(start, end - start);
    cur = support::open_untrusted_at(dir, dir_path, name, support::Expect::directory);
    if (!cur) return cur;
    dir = cur.fd.get();
    dir_path += (dir_path.ends_with('/') ? "" : "/") + name;
    start = end + 1;
  }
  return cur;
}

// The total size of the regular files in a backup that is a directory, walked without
// following links.
uintmax_t tree_size(int root, const std::string& root_path, const std::string& rel,
                    sdk::Context& ctx) {
  auto dir = open_below(root, root_path, rel);
  if (!dir) return 0;
  uintmax_t total = 0;
  size_t n = 0;
  auto visit = [&](const support::WalkEntry& e) {
    if (S_ISREG(e.st.st_mode)) total += static_cast<uintmax_t>(e.st.st_size);
    return true;
  };
  auto cancelled = [&] { return ++n % 1024 == 0 && ctx.cancelled(); };
  if (support::walk_tree(dir.fd.get(), visit, cancelled) == ECANCELED)
    throw sdk::CheckError("cancelled");
  return total;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

json entry_json(const Entry& e, double now) {
  return {{"path", e.path},
          {"size", e.size},
          {"mtime", iso_time(e.mtime)},
          {"age_seconds", std::llround(now - e.mtime)}};
}

// What counts as a backup: the name or relative path matches, no exclude does, and the type is
// right. Links are never backups: they are listed, not followed.
struct Filter {
  const std::string& pattern;
  const std::vector<std::string>& excludes;
  const std::string& entry_type;
};

struct Collected {
  std::vector<Entry> found;
  json other_names = json::array();  // a sample of what is there, to spot a wrong pattern
  json links = json::array();        // matching names that are symbolic links
  json other_types = json::array();  // matching FIFOs, sockets, devices
  size_t seen = 0;
};

std::string join_path(const std::string& dir, const std::string& rel) {
  return dir + (dir.ends_with('/') ? "" : "/") + rel;
}

void consider(const std::string& rel, const struct stat& st, const Filter& f,
              const std::string& dir, Collected& c) {
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  bool excluded = std::any_of(f.excludes.begin(), f.excludes.end(),
                              [&](const std::string& x) { return matches(x, name, rel); });
  if (excluded || !matches(f.pattern, name, rel)) {
    if (c.other_names.size() < 10) c.other_names.push_back(rel);
    return;
  }
  const std::string path = join_path(dir, rel);
  if (S_ISLNK(st.st_mode)) {
    if (c.links.size() < 10) {
      auto link = support::open_untrusted(path, support::Expect::any);
      c.links.push_back(
          {{"path", path}, {"target", link.link_target}, {"owner", user_name(st.st_uid)}});
    }
    return;
  }
  bool is_dir = S_ISDIR(st.st_mode), is_file = S_ISREG(st.st_mode);
  if (!is_file && !is_dir) {
    if (c.other_types.size() < 10)
      c.other_types.push_back({{"path", path}, {"type", type_name(st.st_mode)}});
    return;
  }
  if ((f.entry_type == "file" && !is_file) || (f.entry_type == "dir" && !is_dir)) return;
  c.found.push_back({path, rel, mtime_seconds(st), static_cast<uintmax_t>(st.st_size), is_dir});
}

// Opens the backup directory itself; a link to it is followed only when root made it where
// only root can change it. False when the result is already reported.
bool open_backup_dir(const std::string& dir, json& details, sdk::Context& ctx,
                     support::SafeOpened& out) {
  Inspected in = inspect(dir, true);
  if (in && !in.is_link() && S_ISDIR(in.found.st.st_mode)) {
    out = std::move(in.found);
    if (in.resolved != dir) details["resolved_path"] = in.resolved;
    return true;
  }
  const auto& f = in.found;
  if (in.is_link()) {
    details["symlink_target"] = f.link_target;
    ctx.fail(link_not_followed(in) + ", so the backups it leads to were not looked at",
             link_advice(in.resolved, f.link_target, "the backup directory", in.untrusted_link),
             details);
  } else if (in) {
    ctx.fail(dir + " is a " + type_name(f.st.st_mode) + ", not a directory",
             "Point `path` at the directory the backups are written to (the file itself is "
             "matched with `pattern`).",
             details);
  } else if (f.refusal == support::Refusal::missing) {
    details["error"] = refusal_text(f);
    std::string parent = nearest_existing_ancestor(dir);
    details["nearest_existing_parent"] = parent;
    ctx.fail("backup directory " + dir + " does not exist",
             "The backups are expected in " + shell_quote(dir) +
                 ", which is missing: check the destination the backup job writes to and "
                 "whether the backup volume is mounted (findmnt -T " +
                 shell_quote(parent) + ").",
             details);
  } else if (f.refusal == support::Refusal::untrusted_link) {
    details["untrusted_link"] = f.where;
    details["symlink_target"] = f.link_target;
    ctx.fail(f.message + "; so the backups behind it were not looked at",
             link_advice(f.where, f.link_target, "the backup directory"), details);
  } else {
    details["error"] = refusal_text(f);
    ctx.report(sdk::Status::error, "cannot look at " + dir + ": " + refusal_text(f),
               "Run backup-doctor as root so it can read " + shell_quote(dir) + ".", details);
  }
  return false;
}

// The parameters, checked.
struct Options {
  std::string dir, pattern;
  std::vector<std::string> excludes;
  bool recursive = false;
  std::string entry_type;
  std::chrono::milliseconds max_age{};
  double max_age_s = 0, min_ratio = 0.5;
  size_t history = 5;
  uintmax_t min_size = 1;
  size_t max_items = 10;
};

Options parse_options(const json& params) {
  Options o;
  o.dir = required_string(params, "path");
  o.pattern = params.value("pattern", std::string("*"));
  o.excludes = string_list(params, "exclude", {});
  o.recursive = params.value("recursive", false);
  o.entry_type = params.value("entry_type", std::string("file"));
  if (o.entry_type != "file" && o.entry_type != "dir" && o.entry_type != "any")
    throw sdk::CheckError("parameter 'entry_type' must be file, dir or any");
  o.max_age = duration_param(params, "max_age", "25h");
  o.max_age_s = static_cast<double>(o.max_age.count()) / 1000.0;
  o.min_ratio = params.value("min_ratio", 0.5);
  o.history = params.value("history", 5);
  o.min_size = params.value("min_size", 1);
  o.max_items = params.value("max_items", 10);
  if (o.min_ratio < 0 || o.min_ratio > 1)
    throw sdk::CheckError("'min_ratio' must be between 0 and 1");
  if (o.history < 1) throw sdk::CheckError("'history' must be at least 1");
  return o;
}

// The matching entries of the directory open on `dir_fd`; `err` is why the walk stopped early.
struct Listing {
  Collected c;
  int err = 0;
};

Listing list_backups(int dir_fd, const Options& o, sdk::Context& ctx) {
  const Filter filter{o.pattern, o.excludes, o.entry_type};
  Listing l;
  Collected& c = l.c;
  auto visit = [&](const support::WalkEntry& w) {
    if (++c.seen % 1024 == 0 && ctx.cancelled()) throw sdk::CheckError("cancelled");
    consider(w.relative, w.st, filter, o.dir, c);
    return o.recursive;
  };
  l.err = support::walk_tree(dir_fd, visit);
  return l;
}

// A listing that failed part-way still counts when it found backups. False when the failure
// is already reported.
bool check_listed(const Listing& l, const Options& o, json& details, sdk::Context& ctx) {
  if (!l.err) return true;
  details["error"] = errno_text(l.err);
  if (!l.c.found.empty()) return true;
  ctx.report(sdk::Status::error, "cannot list " + o.dir + ": " + errno_text(l.err),
             "Run backup-doctor as root so it can list " + shell_quote(o.dir) + ".", details);
  return false;
}

void add_listing_details(const Collected& c, json& details) {
  if (!c.links.empty()) details["symlinks_not_followed"] = c.links;
  if (!c.other_types.empty()) details["not_files_or_directories"] = c.other_types;
  details["entries_seen"] = c.seen;
  details["matched"] = c.found.size();
}

// Nothing matched: shows what is there instead, so a wrong pattern or a link is easy to spot.
void report_no_backup(const Options& o, const Collected& c, json& details, sdk::Context& ctx) {
  const json& other_names = c.other_names;
  details["other_entries"] = other_names;
  std::string hint = other_names.empty()
                         ? "The directory is empty: the backup job has never written here, or "
                           "writes somewhere else."
                         : "The directory holds other names (e.g. " +
                               other_names[0].get<std::string>() +
                               "): if those are the backups, correct `pattern`; otherwise the "
                               "job writes somewhere else or under another name.";
  if (!c.links.empty())
    hint = "Only symbolic links match (" + c.links[0]["path"].get<std::string>() + " -> " +
           c.links[0]["target"].get<std::string>() +
           "), and backup-doctor does not follow links in a backup directory: a link another "
           "account made can point at any file, and would make it look like a backup. If "
           "the backups really are elsewhere, point `path` at that directory.";
  ctx.fail("no backup matching '" + o.pattern + "' in " + o.dir +
               (c.links.empty() ? std::string()
                                : " (" + std::to_string(c.links.size()) +
                                      " symbolic link(s) match, not followed)"),
           hint + " Compare the job's output path with " + shell_quote(o.dir) +
               ", run the job once by hand and read its log.",
           details);
}

// Sorts newest first and sizes the directory backups that are compared (the newest and its
// `history` predecessors). Returns how many are compared.
size_t sort_and_size(std::vector<Entry>& found, int dir_fd, const Options& o, sdk::Context& ctx) {
  std::sort(found.begin(), found.end(),
            [](const Entry& a, const Entry& b) { return a.mtime > b.mtime; });
  const size_t considered = std::min(found.size(), o.history + 1);
  for (size_t i = 0; i < considered; ++i)
    if (found[i].is_dir) found[i].size = tree_size(dir_fd, o.dir, found[i].rel, ctx);
  return considered;
}

std::string age_text(double age) {
  return format_duration(std::chrono::milliseconds(std::llround(age * 1000)));
}

void add_recent_details(const std::vector<Entry>& found, double now, const Options& o,
                        json& details) {
  const Entry& newest = found[0];
  json newest_json = entry_json(newest, now);
  newest_json["age"] = age_text(now - newest.mtime);
  details["newest"] = newest_json;
  json recent = json::array();
  for (size_t i = 0; i < found.size() && i < o.max_items; ++i)
    recent.push_back(entry_json(found[i], now));
  details["recent"] = recent;
}

// The newest backup's size against the median of the previous ones.
struct SizeComparison {
  std::optional<double> ratio;
  double median = 0;
};

SizeComparison compare_sizes(const std::vector<Entry>& found, size_t considered, const json& labels,
                             json& details, sdk::Context& ctx) {
  SizeComparison s;
  if (found.size() > 1) {
    std::vector<double> sizes;
    for (size_t i = 1; i < considered; ++i) sizes.push_back(static_cast<double>(found[i].size));
    s.median = median(sizes);
    details["previous_compared"] = sizes.size();
    details["previous_median_size"] = s.median;
    if (s.median > 0) {
      s.ratio = static_cast<double>(found[0].size) / s.median;
      details["size_ratio"] = *s.ratio;
      ctx.metric("newest_backup_size_ratio", *s.ratio, "ratio", labels);
    }
  }
  return s;
}

// What was gathered about the newest backup, for the findings.
struct Newest {
  const Entry& entry;
  double age;
  size_t considered;
  SizeComparison sizes;
};

void report_stale_or_small(const Options& o, const Newest& n, bool stale, bool too_small,
                           const json& details, sdk::Context& ctx) {
  const Entry& newest = n.entry;
  const std::string& name = newest.rel;
  std::string summary, remediation;
  if (stale) {
    summary = "newest backup " + name + " is " + age_text(n.age) + " old (limit " +
              format_duration(o.max_age) + ")";
    remediation = "Nothing matching '" + o.pattern + "' has been written to " + shell_quote(o.dir) +
                  " since " + iso_time(newest.mtime) +
                  ". Check that the job producing it is still scheduled (crontab -l -u <user>; "
                  "systemctl list-timers) and read its log for the runs since then; then run "
                  "it by hand once and confirm a new file appears here.";
  }
  if (too_small) {
    summary += std::string(summary.empty() ? "newest backup " + name + " is " : ", and it is ") +
               "only " + std::to_string(newest.size) + " bytes (minimum " +
               std::to_string(o.min_size) + ")";
    remediation += std::string(remediation.empty() ? "" : " ") + "The newest backup (" +
                   shell_quote(newest.path) + ", " + std::to_string(newest.size) +
                   " bytes) cannot hold a real backup: the job that wrote it at " +
                   iso_time(newest.mtime) +
                   " failed part-way (look for the error in its log) and must run again.";
  }
  ctx.fail(summary, remediation, details);
}

std::string ratio_text(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", ratio);
  return buf;
}

void report_truncated(const std::vector<Entry>& found, const Newest& n, const json& details,
                      sdk::Context& ctx) {
  const Entry& newest = n.entry;
  std::string verify = newest.is_dir ? "compare its file count with the previous one (find " +
                                           shell_quote(newest.path) + " -type f | wc -l)"
                                     : "test it before trusting it (e.g. gzip -t " +
                                           shell_quote(newest.path) + ", or tar -tf " +
                                           shell_quote(newest.path) + " >/dev/null)";
  std::string prev = found[1].path;
  ctx.warn("newest backup " + newest.rel + " (" + human_size(newest.size) + ") is " +
               ratio_text(*n.sizes.ratio) + "x the median " +
               human_size(static_cast<uintmax_t>(n.sizes.median)) + " of the previous " +
               std::to_string(n.considered - 1) + ": it may be truncated",
           "A backup much smaller than the ones before it usually means the dump or archive "
           "stopped early (disk full, killed, lost connection) while still leaving a fresh "
           "file. " +
               std::string(1, static_cast<char>(std::toupper(verify[0]))) + verify.substr(1) +
               ", read the job's log around " + iso_time(newest.mtime) +
               ", and keep the last good backup (" + shell_quote(prev) +
               ") until a complete one is written. If the data really shrank, this warning "
               "clears after a few backups of the new size.",
           details);
}

void report_future(const Newest& n, const json& details, sdk::Context& ctx) {
  ctx.warn("newest backup " + n.entry.rel + " has a modification time " + age_text(-n.age) +
               " in the future",
           "The clock of this host or of the host that wrote " + shell_quote(n.entry.path) +
               " is off, so its age cannot be trusted: check time synchronisation "
               "(timedatectl; chronyc tracking) on both.",
           details);
}

void report_fresh(const Options& o, const Newest& n, const json& details, sdk::Context& ctx) {
  std::string summary = "newest backup " + n.entry.rel + " is " + age_text(n.age) + " old (limit " +
                        format_duration(o.max_age) + "), " + human_size(n.entry.size);
  if (n.sizes.ratio)
    summary += std::string(", ") + ratio_text(*n.sizes.ratio) + "x the median of the previous " +
               std::to_string(n.considered - 1);
  ctx.ok(summary, details);
}

// Judges the newest backup: stale or too small fails, a suspected truncation or a time in the
// future warns, otherwise ok.
void judge_newest(const Options& o, const std::vector<Entry>& found, const Newest& n, json& details,
                  sdk::Context& ctx) {
  const bool stale = n.age > o.max_age_s;
  const bool too_small = o.min_size > 0 && n.entry.size < o.min_size;
  const bool truncated = n.sizes.ratio && o.min_ratio > 0 && *n.sizes.ratio < o.min_ratio;
  const bool future = n.age < -300;
  details["stale"] = stale;
  details["truncated_suspect"] = truncated;
  if (stale || too_small)
    report_stale_or_small(o, n, stale, too_small, details, ctx);
  else if (truncated)
    report_truncated(found, n, details, ctx);
  else if (future)
    report_future(n, details, ctx);
  else
    report_fresh(o, n, details, ctx);
}

void run(const json& params, sdk::Context& ctx) {
  const Options o = parse_options(params);
  json details = {{"path", o.dir},
                  {"pattern", o.pattern},
                  {"max_age", format_duration(o.max_age)},
                  {"max_age_seconds", o.max_age_s}};
  const json labels = {{"path", o.dir}, {"pattern", o.pattern}};
  support::SafeOpened opened;
  if (!open_backup_dir(o.dir, details, ctx, opened)) return;

  Listing listing = list_backups(opened.fd.get(), o, ctx);
  if (!check_listed(listing, o, details, ctx)) return;
  std::vector<Entry>& found = listing.c.found;
  add_listing_details(listing.c, details);
  ctx.metric("backups", static_cast<double>(found.size()), "count", labels);
  if (found.empty()) {
    report_no_backup(o, listing.c, details, ctx);
    return;
  }

  const size_t considered = sort_and_size(found, opened.fd.get(), o, ctx);
  const double now = now_seconds();
  const Entry& newest = found[0];
  const double age = now - newest.mtime;
  add_recent_details(found, now, o, details);
  ctx.metric("newest_backup_timestamp", newest.mtime, "seconds", labels);
  ctx.metric("newest_backup_age", age, "seconds", labels);
  ctx.metric("newest_backup_size", static_cast<double>(newest.size), "bytes", labels);
  const SizeComparison sizes = compare_sizes(found, considered, labels, details, ctx);
  details["min_ratio"] = o.min_ratio;
  judge_newest(o, found, Newest{newest, age, considered, sizes}, details, ctx);
}

}  // namespace

sdk::CheckType freshness_check() {
  return {.type = "files.freshness",
          .summary = "The newest backup in a directory is recent and not suspiciously small",
          .doc =
              "Finds the newest entry (by modification time) matching `pattern` in `path` and "
              "fails when it is older than `max_age` or when none matches, showing a sample of the "
              "names that are there so a wrong pattern is easy to spot. A truncated backup looks "
              "fresh, so the newest one's size is compared with the median of the `history` "
              "previous ones: below `min_ratio` of it is a warning, below `min_size` bytes a "
              "failure. Metrics (labels path, pattern): `newest_backup_timestamp` (seconds, for an "
              "alert like `time() - backup_doctor_newest_backup_timestamp_seconds > 25*3600`), "
              "`newest_backup_age` (seconds), `newest_backup_size` (bytes), "
              "`newest_backup_size_ratio` (ratio) and `backups` (count).\n\n"
              "The directory is listed without following links (`lstat` facts; subdirectories "
              "entered relative to their parent, never through a link): a symbolic link is never "
              "a backup, whatever it points to, so a link to a fresh file cannot make a stale "
              "directory look fresh. Matching links, FIFOs and devices are listed in the details "
              "(`symlinks_not_followed`, `not_files_or_directories`) and named when nothing else "
              "matches. The directory itself is followed through a link only when root made the "
              "link where only root can change it.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::files
