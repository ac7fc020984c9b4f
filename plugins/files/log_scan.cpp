// files.log_scan: error lines in the backup logs, in the last N lines or since the last line
// that says a backup succeeded. Logs are read backwards from the end, read-only.
#include "checks.hpp"
#include "log_reader.hpp"
#include "text_search.hpp"
#include "util.hpp"

#include <fcntl.h>
#include <glob.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <optional>
#include <regex>

namespace backup_doctor::files {

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

FileScan scan(const std::string& path, const std::vector<Matcher>& patterns,
              const std::vector<Matcher>& ignores, const std::optional<Matcher>& marker,
              size_t last_lines, size_t max_hits, uintmax_t count_limit, sdk::Context& ctx) {
  FileScan fs;
  fs.path = path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    fs.error = errno_text(errno);
    return fs;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fs.error = "not a regular file";
    close(fd);
    return fs;
  }
  fs.size = static_cast<uintmax_t>(st.st_size);
  std::vector<Hit> newest_first;
  try {
    ReverseLineReader reader(fd, st.st_size);
    std::string_view line;
    while ((last_lines == 0 || fs.scanned < last_lines) && reader.prev(line)) {
      if (fs.scanned % 4096 == 0 && ctx.cancelled()) throw sdk::CheckError("cancelled");
      if (marker && marker->match(line)) {
        fs.marker_found = true;
        fs.marker_text = shown(line);
        break;
      }
      size_t k = fs.scanned++;
      const Matcher* hit_by = nullptr;
      for (const auto& m : patterns)
        if (m.match(line)) {
          hit_by = &m;
          break;
        }
      if (hit_by == nullptr) continue;
      if (std::any_of(ignores.begin(), ignores.end(),
                      [&](const Matcher& m) { return m.match(line); }))
        continue;
      ++fs.hit_count;
      Hit h{k, 0, shown(line), hit_by->text()};
      if (newest_first.size() < max_hits) newest_first.push_back(h);
      fs.first = std::move(h);
    }
    // Absolute line numbers: count the lines before the last one read.
    uintmax_t before = 0;
    if (count_limit > 0 && count_newlines(fd, reader.line_offset(), count_limit, before)) {
      fs.line_numbers = true;
      uintmax_t last_read_line = before + 1;
      if (fs.marker_found) fs.marker_line = last_read_line;
      uintmax_t first_scanned = fs.marker_found ? last_read_line + 1 : last_read_line;
      auto number = [&](Hit& h) { h.line = first_scanned + (fs.scanned - 1 - h.from_end); };
      for (auto& h : newest_first) number(h);
      if (fs.first) number(*fs.first);
    }
  } catch (const sdk::CheckError&) {
    close(fd);
    throw;
  } catch (const std::exception& e) {
    fs.error = e.what();
  }
  close(fd);
  fs.recent.assign(newest_first.rbegin(), newest_first.rend());
  return fs;
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

void run(const json& params, sdk::Context& ctx) {
  const std::string path = required_string(params, "path");
  const bool icase = params.value("ignore_case", true);
  std::vector<Matcher> patterns, ignores;
  for (const auto& p : string_list(params, "patterns", {"error", "fail", "exception"}))
    patterns.emplace_back(p, icase);
  for (const auto& p : string_list(params, "ignore", {})) ignores.emplace_back(p, icase);
  if (patterns.empty()) throw sdk::CheckError("parameter 'patterns' is empty");
  std::optional<Matcher> marker;
  if (params.contains("success_marker"))
    marker.emplace(required_string(params, "success_marker"), icase);
  const size_t last_lines = params.value("last_lines", 1000);
  const size_t max_hits = params.value("max_hits", 20);
  const bool require_marker = params.value("require_marker", false);
  const uintmax_t count_limit = params.value("line_numbers_up_to", uintmax_t(64) << 20);
  const std::string on_match = params.value("on_match", std::string("fail"));
  if (on_match != "fail" && on_match != "warn")
    throw sdk::CheckError("parameter 'on_match' must be fail or warn");

  json details = {{"path", path}, {"last_lines", last_lines}};
  json pattern_texts = json::array();
  for (const auto& m : patterns) pattern_texts.push_back(m.text());
  details["patterns"] = pattern_texts;
  if (marker) details["success_marker"] = marker->text();

  std::vector<std::string> files;
  if (has_glob_chars(path)) {
    glob_t g{};
    int rc = glob(path.c_str(), GLOB_ERR, nullptr, &g);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (files.empty()) {
      ctx.fail("no log file matches " + path,
               "No log was found at " + shell_quote(path) +
                   ": the backup job has not run since logging was set up, or it logs "
                   "elsewhere. Check where the job's output goes (its crontab line or systemd "
                   "unit: StandardOutput=, a '>> file' redirection) and point `path` there.",
               details);
      return;
    }
  } else {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
      details["nearest_existing_parent"] = nearest_existing_ancestor(path);
      ctx.fail("log file " + path + " does not exist",
               "The backup job has not written " + shell_quote(path) +
                   ": either it has not run, or its output goes elsewhere. Check the job's "
                   "crontab line or systemd unit for where its output is sent, and that the "
                   "directory " +
                   shell_quote(nearest_existing_ancestor(path)) + " is writable by the job's user.",
               details);
      return;
    }
    files.push_back(path);
  }

  std::vector<FileScan> scans;
  size_t total_hits = 0;
  bool all_markers = true;
  json file_details = json::array();
  for (const auto& f : files) {
    FileScan s = scan(f, patterns, ignores, marker, last_lines, max_hits, count_limit, ctx);
    if (!s.error.empty()) {
      details["files"] = file_details;
      ctx.report(sdk::Status::error, "cannot read " + f + ": " + s.error,
                 "Run backup-doctor as root (or as a user that can read " + shell_quote(f) +
                     "), and point `path` at regular log files.",
                 details);
      return;
    }
    total_hits += s.hit_count;
    all_markers &= s.marker_found;
    json fj = {
        {"path", s.path}, {"size", s.size}, {"lines_scanned", s.scanned}, {"hits", s.hit_count}};
    if (marker) {
      fj["marker_found"] = s.marker_found;
      if (s.marker_found) {
        fj["marker_text"] = s.marker_text;
        if (s.marker_line) fj["marker_line"] = s.marker_line;
      }
    }
    file_details.push_back(fj);
    ctx.metric("log_error_lines", static_cast<double>(s.hit_count), "count", {{"path", s.path}});
    scans.push_back(std::move(s));
  }
  details["files"] = file_details;
  details["hit_count"] = total_hits;

  // The most recent hits over all files (each file's list is already capped).
  json hits = json::array();
  for (const auto& s : scans)
    for (const auto& h : s.recent) hits.push_back(hit_json(s, h));
  if (hits.size() > max_hits) {
    json tail = json::array();
    for (size_t i = hits.size() - max_hits; i < hits.size(); ++i) tail.push_back(hits[i]);
    hits = tail;
  }
  details["hits"] = hits;

  auto window_of = [&](const FileScan& s) {
    if (s.marker_found)
      return s.marker_line
                 ? "since the last success marker (line " + std::to_string(s.marker_line) + ")"
                 : std::string("since the last success marker");
    return "in the last " + std::to_string(s.scanned) + " lines";
  };

  const FileScan* worst = nullptr;
  for (const auto& s : scans)
    if (s.hit_count && (!worst || s.hit_count > worst->hit_count)) worst = &s;
  const bool missing_marker = marker && require_marker && !all_markers;

  if (total_hits == 0 && !missing_marker) {
    std::string where_text = scans.size() == 1 ? scans[0].path + " " + window_of(scans[0])
                                               : std::to_string(scans.size()) + " log files";
    ctx.ok("no error lines in " + where_text, details);
    return;
  }

  std::string summary, remediation;
  if (worst) {
    const Hit& last = worst->recent.back();
    summary = std::to_string(total_hits) + " error line" + (total_hits == 1 ? "" : "s") +
              (scans.size() == 1 ? " in " + worst->path + " " + window_of(*worst)
                                 : " in " + std::to_string(scans.size()) + " log files");
    summary += "; latest " + where(*worst, last) + ": " + last.text;
    const Hit& first = *worst->first;
    std::string q = shell_quote(worst->path);
    std::string show;
    if (first.line) {
      uintmax_t from = first.line > 10 ? first.line - 10 : 1;
      show = "sed -n '" + std::to_string(from) + "," + std::to_string(last.line + 5) + "p' " + q;
    } else {
      show = "tail -n " + std::to_string(first.from_end + 11) + " " + q;
    }
    remediation = "Read the failing run in context (" + show +
                  "). The earliest error in the "
                  "window, at " +
                  where(*worst, first) + " ('" + first.text +
                  "'), is usually the cause; the later ones tend to follow from it. Fix that, "
                  "run the backup job again and confirm it ends cleanly";
    remediation += marker
                       ? " (writing a line matching '" + marker->text() +
                             "', after which earlier errors are no longer counted)."
                       : ". Errors stay in the scanned window until " + std::to_string(last_lines) +
                             " newer lines push them out; set success_marker to scan only "
                             "since the last successful run.";
    if (scans.size() > 1) {
      remediation += " Hits per file:";
      for (const auto& s : scans)
        if (s.hit_count) remediation += " " + s.path + " (" + std::to_string(s.hit_count) + ")";
      remediation += ".";
    }
  }
  if (missing_marker) {
    std::vector<std::string> without;
    for (const auto& s : scans)
      if (!s.marker_found) without.push_back(s.path);
    std::string names;
    for (const auto& n : without) names += (names.empty() ? "" : ", ") + n;
    summary += std::string(summary.empty() ? "" : "; ") + "no success marker ('" + marker->text() +
               "') in the last " + std::to_string(last_lines) + " lines of " + names;
    remediation += std::string(remediation.empty() ? "" : " ") +
                   "No backup run has logged success recently in " + names +
                   ": check that the job still runs (and finishes) and that success_marker "
                   "matches the line it writes on success.";
  }
  details["success_marker_missing"] = missing_marker;
  sdk::Status status = missing_marker || on_match == "fail" ? sdk::Status::fail : sdk::Status::warn;
  ctx.report(status, summary, remediation, details);
}

}  // namespace

CheckSpec log_scan_check() {
  return {"files.log_scan", "Error lines in backup logs, since the last successful run",
          "Reads each log matched by `path` backwards from its end (read-only; a multi-gigabyte "
          "log costs only its tail) and reports the lines matching `patterns` (case-insensitive "
          "substrings or ECMAScript regular expressions), in the last `last_lines` lines or, "
          "with `success_marker`, only since the last line a successful run wrote. Each hit is "
          "reported as file:line with the line's text; the most recent `max_hits` are listed "
          "and all are counted. The remediation points at the earliest error of the window, "
          "which is usually the cause. Metric: `log_error_lines` (count, label path).",
          with_duration_patterns(kSchema), &run};
}

}  // namespace backup_doctor::files
