// files.log_scan: error lines in the backup logs, in the last N lines or since the last line
// that says a backup succeeded. Logs are read backwards from the end, read-only.
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "file_facts.hpp"
#include "inspect.hpp"
#include "log_reader.hpp"
#include "safe_glob.hpp"
#include "text_search.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <optional>
#include <regex>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::has_glob;
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
             "description": "Log file to scan, or a glob of several, e.g. /var/log/backup/*.log."},
    "patterns": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                 "default": ["error", "fail", "exception"],
                 "description": "What marks a bad line: plain words are matched as substrings, anything with regex characters as an ECMAScript regular expression. Default: [\"error\", \"fail\", \"exception\"]."},
    "ignore": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
               "description": "Lines matching any of these (same syntax as patterns) are never hits, e.g. [\"0 errors\", \"--on-error\"]. Default: none."},
    "ignore_case": {"type": "boolean", "default": true,
                    "description": "Match patterns, ignore and success_marker without regard to case. Default: true."},
    "last_lines": {"type": "integer", "minimum": 0, "default": 1000,
                   "description": "Scan at most this many lines from the end of each file (0: the whole file). Default: 1000."},
    "success_marker": {"type": "string", "minLength": 1,
                       "description": "Pattern of the line a successful backup run writes, e.g. \"Backup completed successfully\". When set, only the lines after the last such line are scanned (within last_lines). Not set by default."},
    "require_marker": {"type": "boolean", "default": false,
                       "description": "Fail when success_marker is set and no line matches it within last_lines: no run has succeeded recently. Default: false."},
    "on_match": {"type": "string", "enum": ["fail", "warn"], "default": "fail",
                 "description": "Result when error lines are found. Default: fail."},
    "line_numbers_up_to": {"type": "integer", "minimum": 0, "default": 67108864,
                           "description": "Absolute line numbers need the lines before the scanned window counted, which reads that part of the file. They are given when the window starts within this many bytes; beyond, hits are located as 'line N from the end', so a tail scan of a huge log stays as cheap as its tail. 0: always from the end. Default: 67108864 (64 MiB)."},
    "max_hits": {"type": "integer", "minimum": 1, "default": 20,
                 "description": "How many of the most recent hits are listed (the total is always counted). Default: 20."}
  }
})";

constexpr size_t kRegexWindow = 4096;  // libstdc++'s regex recurses per character: bound it
constexpr size_t kShownLine = 400;

class Matcher {
 public:
  Matcher(std::string text, bool icase) : text_(std::move(text)) {
    literal_ = text_.find_first_of(".^$|()[]{}*+?\\") == std::string::npos;
    if (literal_) {
      searcher_.emplace(text_, icase);
    } else {
      try {
        auto flags = std::regex::ECMAScript | std::regex::optimize;
        if (icase) flags |= std::regex::icase;
        re_ = std::regex(text_, flags);
      } catch (const std::regex_error& e) {
        throw sdk::CheckError("'" + text_ + "' is not a valid regular expression: " + e.what());
      }
    }
  }
  bool match(std::string_view line) const {
    if (literal_) return searcher_->found_in(line);
    std::string_view view = line.substr(0, kRegexWindow);
    return std::regex_search(view.begin(), view.end(), re_);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool literal_ = true;
  std::optional<TextSearcher> searcher_;
  std::regex re_;
};

struct Hit {
  size_t from_end = 0;  // 0 = last line of the file
  uintmax_t line = 0;   // 1-based; 0 when unknown
  std::string text, pattern;
};

struct FileScan {
  std::string path;
  uintmax_t size = 0;
  size_t scanned = 0, hit_count = 0;
  bool marker_found = false;
  uintmax_t marker_line = 0;
  std::string marker_text;
  std::vector<Hit> recent;   // most recent max_hits, file order
  std::optional<Hit> first;  // earliest hit in the window
  bool line_numbers = false;
  std::string error;
};

std::string shown(std::string_view v) {
  std::string s(v.substr(0, kShownLine + 8));
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.pop_back();
  if (s.size() > kShownLine) s = s.substr(0, kShownLine) + "...";
  return s;
}

struct Settings {
  std::vector<Matcher> patterns, ignores;
  std::optional<Matcher> marker;
  size_t last_lines = 1000, max_hits = 20;
  bool require_marker = false;
  uintmax_t count_limit = uintmax_t(64) << 20;
  std::string on_match = "fail";
};

Settings settings_from(const json& params) {
  Settings s;
  const bool icase = params.value("ignore_case", true);
  for (const auto& p : string_list(params, "patterns", {"error", "fail", "exception"}))
    s.patterns.emplace_back(p, icase);
  for (const auto& p : string_list(params, "ignore", {})) s.ignores.emplace_back(p, icase);
  if (s.patterns.empty()) throw sdk::CheckError("parameter 'patterns' is empty");
  if (params.contains("success_marker"))
    s.marker.emplace(required_string(params, "success_marker"), icase);
  s.last_lines = params.value("last_lines", s.last_lines);
  s.max_hits = params.value("max_hits", s.max_hits);
  s.require_marker = params.value("require_marker", false);
  s.count_limit = params.value("line_numbers_up_to", s.count_limit);
  s.on_match = params.value("on_match", s.on_match);
  if (s.on_match != "fail" && s.on_match != "warn")
    throw sdk::CheckError("parameter 'on_match' must be fail or warn");
  return s;
}

// Reads the log open on `fd` backwards from its end.
FileScan scan(const std::string& path, int fd, const struct stat& st, const Settings& set,
              sdk::Context& ctx) {
  FileScan fs;
  fs.path = path;
  fs.size = static_cast<uintmax_t>(st.st_size);
  std::vector<Hit> newest_first;
  try {
    ReverseLineReader reader(fd, st.st_size);
    std::string_view line;
    while ((set.last_lines == 0 || fs.scanned < set.last_lines) && reader.prev(line)) {
      if (fs.scanned % 4096 == 0 && ctx.cancelled()) throw sdk::CheckError("cancelled");
      if (set.marker && set.marker->match(line)) {
        fs.marker_found = true;
        fs.marker_text = shown(line);
        break;
      }
      size_t k = fs.scanned++;
      const Matcher* hit_by = nullptr;
      for (const auto& m : set.patterns)
        if (m.match(line)) {
          hit_by = &m;
          break;
        }
      if (hit_by == nullptr) continue;
      if (std::any_of(set.ignores.begin(), set.ignores.end(),
                      [&](const Matcher& m) { return m.match(line); }))
        continue;
      ++fs.hit_count;
      Hit h{k, 0, shown(line), hit_by->text()};
      if (newest_first.size() < set.max_hits) newest_first.push_back(h);
      fs.first = std::move(h);
    }
    // Absolute line numbers: count the lines before the last one read.
    uintmax_t before = 0;
    if (set.count_limit > 0 && count_newlines(fd, reader.line_offset(), set.count_limit, before)) {
      fs.line_numbers = true;
      uintmax_t last_read_line = before + 1;
      if (fs.marker_found) fs.marker_line = last_read_line;
      uintmax_t first_scanned = fs.marker_found ? last_read_line + 1 : last_read_line;
      auto number = [&](Hit& h) { h.line = first_scanned + (fs.scanned - 1 - h.from_end); };
      for (auto& h : newest_first) number(h);
      if (fs.first) number(*fs.first);
    }
  } catch (const sdk::CheckError&) {
    throw;
  } catch (const std::exception& e) {
    fs.error = e.what();
  }
  fs.recent.assign(newest_first.rbegin(), newest_first.rend());
  return fs;
}

// A log as found: opened for reading, or why it was not (a link, a FIFO, a device...).
struct Source {
  std::string path;
  support::SafeOpened opened;
};

// A link matched by a glob is never opened: reported with its target.
Source link_source(const GlobMatch& m) {
  Source s{m.path, {}};
  char buf[4096];
  ssize_t n = ::readlinkat(m.dir->get(), m.name.c_str(), buf, sizeof buf);
  s.opened.refusal = support::Refusal::symlink;
  s.opened.where = m.path;
  s.opened.st = m.st;
  s.opened.link_target = n < 0 ? "(unreadable)" : std::string(buf, static_cast<size_t>(n));
  s.opened.message = m.path + " is a symbolic link to " + s.opened.link_target + " (owned by " +
                     user_name(m.st.st_uid) + "); backup-doctor does not follow links in logs";
  return s;
}

Source skipped_source(const GlobSkip& skip) {
  Source s{skip.path, {}};
  s.opened.refusal = support::Refusal::failed;
  s.opened.where = skip.path;
  s.opened.message = skip.path + " " + skip.reason;
  return s;
}

// The logs `path` names, each opened through open_untrusted; false when there is none (the
// result is already reported).
bool gather(const std::string& path, json& details, sdk::Context& ctx, std::vector<Source>& out) {
  if (!has_glob(path)) {
    auto opened = support::open_untrusted(path, support::Expect::regular);
    if (opened.refusal == support::Refusal::missing) {
      std::string parent = nearest_existing_ancestor(path);
      details["nearest_existing_parent"] = parent;
      ctx.fail("log file " + path + " does not exist",
               "The backup job has not written " + shell_quote(path) +
                   ": either it has not run, or its output goes elsewhere. Check the job's "
                   "crontab line or systemd unit for where its output is sent, and that the "
                   "directory " +
                   shell_quote(parent) + " is writable by the job's user.",
               details);
      return false;
    }
    out.push_back({path, std::move(opened)});
    return true;
  }
  GlobResult g = expand_glob(path);
  if (!g.error.empty()) {
    ctx.report(sdk::Status::error, "cannot look for logs matching " + path + ": " + g.error,
               "backup-doctor could not open the directory the pattern starts in. " +
                   std::string(g.error.find("symbolic link") != std::string::npos
                                   ? "Point `path` at the directory the logs really are in."
                                   : "Run it as root, or correct `path`."),
               details);
    return false;
  }
  for (const auto& m : g.matches) {
    if (S_ISLNK(m.st.st_mode))
      out.push_back(link_source(m));
    else
      out.push_back({m.path, support::open_untrusted_at(m.dir->get(), m.dir_path, m.name,
                                                        support::Expect::regular)});
  }
  for (const auto& s : g.skipped) out.push_back(skipped_source(s));
  if (out.empty()) {
    ctx.fail("no log file matches " + path,
             "No log was found at " + shell_quote(path) +
                 ": the backup job has not run since logging was set up, or it logs "
                 "elsewhere. Check where the job's output goes (its crontab line or systemd "
                 "unit: StandardOutput=, a '>> file' redirection) and point `path` there.",
             details);
    return false;
  }
  return true;
}

// What to do about a log that was not read, by why it was not.
std::string unread_advice(const Source& s) {
  const auto& o = s.opened;
  const std::string q = shell_quote(s.path);
  switch (o.refusal) {
    case support::Refusal::symlink:
      return link_advice(
          s.path, o.link_target, "the log",
          "owned by " + user_name(o.st.st_uid) + " (uid " + std::to_string(o.st.st_uid) + ")");
    case support::Refusal::untrusted_link:
      return "A directory on the way to the log (" + o.where +
             ") is a link that another "
             "account could have made. Point `path` at the log's real location (" +
             shell_quote(o.link_target) + "), or have root own the link.";
    case support::Refusal::wrong_type:
      if (S_ISDIR(o.st.st_mode))
        return "Point `path` at the log file itself, or at a glob of the logs in that directory "
               "(" +
               shell_quote(s.path + "/*.log") + ").";
      return "A log is a regular file; " + q + " is a " + support::file_type_word(o.st.st_mode) +
             " owned by " + user_name(o.st.st_uid) +
             ", which backup-doctor never opens (reading a FIFO hangs, opening a device can act "
             "on it). Find out what put it there (ls -l " +
             q + "), remove it, and let the backup job write its log there again.";
    case support::Refusal::hard_link:
      return "The log may be a hard link to a file its directory's owner may not read (find / "
             "-xdev -samefile " +
             q +
             " shows the other names). Replace it with the job's real "
             "log, and set fs.protected_hardlinks = 1 (sysctl) so that nobody can link to "
             "files they do not own.";
    case support::Refusal::denied:
      return "Run backup-doctor as root (or as a user that can read " + q + ").";
    default:
      return "Check the log and its directory (ls -ld " + q + ").";
  }
}

std::string where(const FileScan& f, const Hit& h) {
  return f.path + ":" +
         (h.line ? std::to_string(h.line)
                 : "(line " + std::to_string(h.from_end + 1) + " from the end)");
}

json hit_json(const FileScan& f, const Hit& h) {
  json j = {{"file", f.path},
            {"lines_from_end", h.from_end + 1},
            {"text", h.text},
            {"pattern", h.pattern},
            {"location", where(f, h)}};
  if (h.line) j["line"] = h.line;
  return j;
}

std::string window_of(const FileScan& s) {
  if (s.marker_found)
    return s.marker_line
               ? "since the last success marker (line " + std::to_string(s.marker_line) + ")"
               : std::string("since the last success marker");
  return "in the last " + std::to_string(s.scanned) + " lines";
}

json file_json(const FileScan& s, const Settings& set) {
  json fj = {
      {"path", s.path}, {"size", s.size}, {"lines_scanned", s.scanned}, {"hits", s.hit_count}};
  if (set.marker) {
    fj["marker_found"] = s.marker_found;
    if (s.marker_found) {
      fj["marker_text"] = s.marker_text;
      if (s.marker_line) fj["marker_line"] = s.marker_line;
    }
  }
  return fj;
}

// The most recent hits over all files (each file's list is already capped).
json recent_hits(const std::vector<FileScan>& scans, size_t max_hits) {
  json hits = json::array();
  for (const auto& s : scans)
    for (const auto& h : s.recent) hits.push_back(hit_json(s, h));
  if (hits.size() <= max_hits) return hits;
  json tail = json::array();
  for (size_t i = hits.size() - max_hits; i < hits.size(); ++i) tail.push_back(hits[i]);
  return tail;
}

struct Verdict {
  std::string summary, remediation;
};

// Summary and remediation for the error lines of the file with the most of them.
Verdict hits_verdict(const std::vector<FileScan>& scans, const FileScan& worst, size_t total_hits,
                     const Settings& set) {
  Verdict v;
  const Hit& last = worst.recent.back();
  v.summary = std::to_string(total_hits) + " error line" + (total_hits == 1 ? "" : "s") +
              (scans.size() == 1 ? " in " + worst.path + " " + window_of(worst)
                                 : " in " + std::to_string(scans.size()) + " log files");
  v.summary += "; latest " + where(worst, last) + ": " + last.text;
  const Hit& first = *worst.first;
  std::string q = shell_quote(worst.path);
  std::string show;
  if (first.line) {
    uintmax_t from = first.line > 10 ? first.line - 10 : 1;
    show = "sed -n '" + std::to_string(from) + "," + std::to_string(last.line + 5) + "p' " + q;
  } else {
    show = "tail -n " + std::to_string(first.from_end + 11) + " " + q;
  }
  v.remediation = "Read the failing run in context (" + show +
                  "). The earliest error in the window, at " + where(worst, first) + " ('" +
                  first.text +
                  "'), is usually the cause; the later ones tend to follow from it. Fix that, "
                  "run the backup job again and confirm it ends cleanly";
  v.remediation += set.marker ? " (writing a line matching '" + set.marker->text() +
                                    "', after which earlier errors are no longer counted)."
                              : ". Errors stay in the scanned window until " +
                                    std::to_string(set.last_lines) +
                                    " newer lines push them out; set success_marker to scan only "
                                    "since the last successful run.";
  if (scans.size() > 1) {
    v.remediation += " Hits per file:";
    for (const auto& s : scans)
      if (s.hit_count) v.remediation += " " + s.path + " (" + std::to_string(s.hit_count) + ")";
    v.remediation += ".";
  }
  return v;
}

Verdict marker_verdict(const std::vector<FileScan>& scans, const Settings& set) {
  std::string names;
  for (const auto& s : scans)
    if (!s.marker_found) names += (names.empty() ? "" : ", ") + s.path;
  return {"no success marker ('" + set.marker->text() + "') in the last " +
              std::to_string(set.last_lines) + " lines of " + names,
          "No backup run has logged success recently in " + names +
              ": check that the job still runs (and finishes) and that success_marker matches "
              "the line it writes on success."};
}

// Logs that could not be read: an error naming each, what it is, and what to do; whatever the
// other logs held is added, so that a planted link cannot hide them, nor they the link.
void report_unread(const std::vector<Source>& unread, size_t total, const Verdict& found,
                   json& details, sdk::Context& ctx) {
  json list = json::array();
  for (const auto& s : unread) {
    json j = {{"path", s.path}, {"reason", refusal_text(s.opened)}};
    if (!s.opened.link_target.empty()) j["symlink_target"] = s.opened.link_target;
    list.push_back(j);
  }
  details["not_read"] = list;
  std::string summary =
      unread.size() == 1 && total == 1
          ? "log not scanned: " + refusal_text(unread[0].opened)
          : std::to_string(unread.size()) + " of " + std::to_string(total) +
                " logs not scanned: " + refusal_text(unread[0].opened) +
                (unread.size() > 1
                     ? " (and " + std::to_string(unread.size() - 1) + " more, in details.not_read)"
                     : "");
  std::string remediation = unread_advice(unread[0]);
  if (!found.summary.empty()) {
    summary += "; in the others: " + found.summary;
    remediation += " " + found.remediation;
  }
  ctx.report(sdk::Status::error, summary, remediation, details);
}

void run(const json& params, sdk::Context& ctx) {
  const std::string path = required_string(params, "path");
  const Settings set = settings_from(params);
  json details = {{"path", path}, {"last_lines", set.last_lines}};
  json pattern_texts = json::array();
  for (const auto& m : set.patterns) pattern_texts.push_back(m.text());
  details["patterns"] = pattern_texts;
  if (set.marker) details["success_marker"] = set.marker->text();

  std::vector<Source> sources;
  if (!gather(path, details, ctx, sources)) return;

  std::vector<FileScan> scans;
  std::vector<Source> unread;
  size_t total_hits = 0;
  bool all_markers = true;
  json file_details = json::array();
  for (auto& src : sources) {
    if (!src.opened) {
      unread.push_back(std::move(src));
      continue;
    }
    FileScan s = scan(src.path, src.opened.fd.get(), src.opened.st, set, ctx);
    if (!s.error.empty()) {
      src.opened.refusal = support::Refusal::failed;
      src.opened.message = "reading " + src.path + " failed: " + s.error;
      unread.push_back(std::move(src));
      continue;
    }
    total_hits += s.hit_count;
    all_markers &= s.marker_found;
    file_details.push_back(file_json(s, set));
    ctx.metric("log_error_lines", static_cast<double>(s.hit_count), "count", {{"path", s.path}});
    scans.push_back(std::move(s));
  }
  details["files"] = file_details;
  details["hit_count"] = total_hits;
  details["hits"] = recent_hits(scans, set.max_hits);

  const FileScan* worst = nullptr;
  for (const auto& s : scans)
    if (s.hit_count && (!worst || s.hit_count > worst->hit_count)) worst = &s;
  const bool missing_marker = set.marker && set.require_marker && !all_markers && !scans.empty();
  details["success_marker_missing"] = missing_marker;

  Verdict v;
  if (worst) v = hits_verdict(scans, *worst, total_hits, set);
  if (missing_marker) {
    Verdict m = marker_verdict(scans, set);
    v.summary += (v.summary.empty() ? "" : "; ") + m.summary;
    v.remediation += (v.remediation.empty() ? "" : " ") + m.remediation;
  }
  if (!unread.empty()) {
    report_unread(unread, sources.size(), v, details, ctx);
    return;
  }
  if (v.summary.empty()) {
    std::string where_text = scans.size() == 1 ? scans[0].path + " " + window_of(scans[0])
                                               : std::to_string(scans.size()) + " log files";
    ctx.ok("no error lines in " + where_text, details);
    return;
  }
  sdk::Status status =
      missing_marker || set.on_match == "fail" ? sdk::Status::fail : sdk::Status::warn;
  ctx.report(status, v.summary, v.remediation, details);
}

}  // namespace

sdk::CheckType log_scan_check() {
  return {
      .type = "files.log_scan",
      .summary = "Error lines in backup logs, since the last successful run",
      .doc =
          "Reads each log matched by `path` backwards from its end (read-only; a multi-gigabyte "
          "log costs only its tail) and reports the lines matching `patterns` (case-insensitive "
          "substrings or ECMAScript regular expressions), in the last `last_lines` lines or, "
          "with `success_marker`, only since the last line a successful run wrote. Each hit is "
          "reported as file:line with the line's text; the most recent `max_hits` are listed "
          "and all are counted. The remediation points at the earliest error of the window, "
          "which is usually the cause. Metric: `log_error_lines` (count, label path).\n\n"
          "A log is opened only when it is a regular file: a symbolic link (even one a glob "
          "matches), a FIFO, a device or a hard link to a file its directory's owner could "
          "not read is never opened, and the check ends in an error naming it, its target or "
          "type, and what to do (the other logs are still scanned and their errors listed). "
          "A glob is expanded without following links: a link met on the way is reported, not "
          "entered.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::files
