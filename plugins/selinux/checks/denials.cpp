// selinux.denials: AVC denials in the audit log (and its rotated predecessors) within a time
// window that involve backup programs or paths, grouped by source context, target context,
// class and permission, with the policy change that would stop each.
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "audit_log.hpp"
#include "checks.hpp"
#include "denial_hints.hpp"
#include "selinuxfs.hpp"

#include <backup_doctor/support/safe_open.hpp>
#include "archive_filters.hpp"

#include <archive.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace backup_doctor::selinux {

using nlohmann::json;
using sdk::bool_param;
using sdk::count_param;
using sdk::duration_param;
using sdk::errno_text;
using sdk::has_glob;
using sdk::iso_time;
using sdk::now_seconds;
using sdk::shell_quote;
using sdk::string_list;
using sdk::string_param;

namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "audit_log": {"type": "string", "minLength": 1, "default": "/var/log/audit/audit.log",
      "description": "The audit log to read. Default /var/log/audit/audit.log."},
    "include_rotated": {"type": "boolean", "default": true,
      "description": "Also read the rotated logs next to it (audit.log.1, audit.log.2, ..., also gzip/xz/zstd compressed) that reach into the window. Default true."},
    "since": {"$ref": "bd:duration", "default": "24h",
      "description": "How far back to look, e.g. \"30m\", \"24h\", \"7d\". Default 24h."},
    "programs": {"type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["pg_dump", "pg_dumpall", "pg_basebackup", "pg_restore", "psql", "rsync", "tar", "gzip", "pigz", "zstd", "xz", "rclone", "aws", "*backup*"],
      "description": "Programs whose denials count (shell globs), matched against the process name (comm) and the executable's file name and path. Default: the PostgreSQL dump tools, rsync, tar, the compressors, rclone, aws and anything with \"backup\" in its name. With both programs and paths empty, every denial counts."},
    "paths": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
      "description": "Paths whose denials count whatever the program: a directory matches everything below it, a glob (with * ? [) is matched as is. Default none."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many groups (and rules in the remediation) are listed. Default 20."},
    "max_rotated": {"type": "integer", "minimum": 1, "default": 20,
      "description": "Read at most this many rotated logs. Default 20."},
    "selinuxfs_root": {"type": "string", "minLength": 1, "default": "/sys/fs/selinux",
      "description": "Where selinuxfs is mounted. Only used to tell \"no SELinux here\" (skipped) from \"the audit log is missing\" (error). Default /sys/fs/selinux."}
  }
})";

const std::vector<std::string> kDefaultPrograms = {
    "pg_dump", "pg_dumpall", "pg_basebackup", "pg_restore", "psql",   "rsync", "tar",
    "gzip",    "pigz",       "zstd",          "xz",         "rclone", "aws",   "*backup*"};

constexpr size_t kMaxMalformedExamples = 5;

struct Denial {
  double timestamp = 0;
  std::string scontext, tcontext, tclass;
  std::vector<std::string> permissions;
  std::optional<bool> permissive;
  std::set<std::string> programs;  // comm, exe
  std::set<std::string> paths;     // path=, name=, PATH records
  std::string cwd;
};

struct Group {
  std::string scontext, tcontext, tclass, permission;
  size_t count = 0;
  size_t enforced = 0;  // permissive=0 or unknown
  double first = 0, last = 0;
  std::set<std::string> programs, paths;
};

// The records of one event share its time stamp and serial.
struct EventKey {
  long long millis = 0;
  unsigned long long serial = 0;
  bool operator==(const EventKey&) const = default;
};
struct EventKeyHash {
  size_t operator()(const EventKey& k) const {
    return std::hash<unsigned long long>()(static_cast<unsigned long long>(k.millis) * 1000003u ^
                                           k.serial);
  }
};
EventKey key_of(const AuditRecord& r) {
  // The parser accepted the serial only if it is all digits; a huge one just wraps.
  return {std::llround(r.timestamp * 1000), std::strtoull(r.serial.c_str(), nullptr, 10)};
}

struct LogFile {
  std::string path;
  int order = 0;  // 0 the live log, N for .N
  double mtime = 0;
};

bool compressed(const std::string& path) {
  for (const char* ext : {".gz", ".xz", ".zst", ".bz2"})
    if (path.size() > std::strlen(ext) &&
        path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
      return true;
  return false;
}

// Audit records are at most ~9 KB (MAX_AUDIT_MESSAGE_LENGTH); a longer line is no record, and
// a file that never ends its line must not fill the memory.
constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kChunk = 64 * 1024;

using LineFn = std::function<bool(std::string_view)>;

// Cuts a byte stream into lines of at most kMaxLine bytes; a longer line is skipped whole and
// counted.
class LineSplitter {
 public:
  // False when `line` asked to stop.
  bool feed(std::string_view chunk, const LineFn& line) {
    size_t start = 0;
    for (size_t nl; (nl = chunk.find('\n', start)) != std::string_view::npos; start = nl + 1) {
      std::string_view part = chunk.substr(start, nl - start);
      if (skipping_) {
        skipping_ = false;
      } else if (pending_.size() + part.size() > kMaxLine) {
        ++overlong_;
        pending_.clear();
      } else {
        pending_.append(part);
        bool more = line(pending_);
        pending_.clear();
        if (!more) return false;
      }
    }
    std::string_view rest = chunk.substr(start);
    if (skipping_ || rest.empty()) return true;
    if (pending_.size() + rest.size() > kMaxLine) {
      ++overlong_;
      skipping_ = true;
      pending_.clear();
    } else {
      pending_.append(rest);
    }
    return true;
  }
  void finish(const LineFn& line) {
    if (!skipping_ && !pending_.empty()) line(pending_);
    pending_.clear();
  }
  size_t overlong() const { return overlong_; }

 private:
  std::string pending_;
  bool skipping_ = false;
  size_t overlong_ = 0;
};

struct ReadResult {
  size_t overlong_lines = 0;
  bool cancelled = false;
};

// Calls `line` for every line of the open log; false from it stops. Compressed files go through
// libarchive, on the same descriptor. Cancellation is polled per chunk, so a file without a
// single newline cannot keep the check past its time.
ReadResult for_each_line(const std::string& path, int fd, sdk::Context& ctx, const LineFn& line) {
  ReadResult result;
  LineSplitter split;
  std::vector<char> buf(kChunk);
  if (!compressed(path)) {
    for (;;) {
      if (ctx.cancelled()) return {split.overlong(), true};
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sdk::CheckError("cannot read " + path + ": " + errno_text(errno));
      if (n == 0) break;
      if (!split.feed(std::string_view(buf.data(), static_cast<size_t>(n)), line))
        return {split.overlong(), false};
    }
    split.finish(line);
    return {split.overlong(), false};
  }
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  support::support_in_process_filters(a.get());  // never one that runs a program
  archive_read_support_format_raw(a.get());
  if (archive_read_open_fd(a.get(), fd, kChunk) != ARCHIVE_OK)
    throw sdk::CheckError("cannot read " + path + ": " + archive_error_string(a.get()));
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc == ARCHIVE_EOF) return result;
  if (rc != ARCHIVE_OK)
    throw sdk::CheckError("cannot decompress " + path + ": " + archive_error_string(a.get()));
  for (;;) {
    if (ctx.cancelled()) return {split.overlong(), true};
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0)
      throw sdk::CheckError("cannot decompress " + path + ": " + archive_error_string(a.get()));
    if (n == 0) break;
    if (!split.feed(std::string_view(buf.data(), static_cast<size_t>(n)), line))
      return {split.overlong(), false};
  }
  split.finish(line);
  return {split.overlong(), false};
}

double mtime_of(const struct stat& st) {
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

// "audit.log.3", "audit.log.2.gz", "audit.log-20240101": a rotated predecessor of `base`.
bool rotated_name(const std::string& name, const std::string& base) {
  if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0) return false;
  char sep = name[base.size()];
  if (sep != '.' && sep != '-') return false;
  std::string rest = name.substr(base.size() + 1);
  for (const char* ext : {".gz", ".xz", ".zst", ".bz2"}) {
    size_t l = std::strlen(ext);
    if (rest.size() > l && rest.compare(rest.size() - l, l, ext) == 0) rest.resize(rest.size() - l);
  }
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos;
}

// audit.log's rotated predecessors, newest first: the entries of its directory as lstat sees
// them, regular files only (a link or a FIFO planted there is never a log).
std::vector<LogFile> rotated_logs(const std::string& log, size_t max_rotated) {
  fs::path lp(log);
  std::string dir = lp.parent_path().empty() ? "." : lp.parent_path().string();
  std::string base = lp.filename().string();
  std::vector<LogFile> old;
  auto d = support::open_untrusted(dir, support::Expect::directory);
  std::vector<support::DirEntry> entries;
  if (!d || support::list_directory(d.fd.get(), entries) != 0) return old;
  for (const auto& e : entries)
    if (S_ISREG(e.st.st_mode) && rotated_name(e.name, base))
      old.push_back({(fs::path(dir) / e.name).string(), 1, mtime_of(e.st)});
  // Newest first by modification time: works for numbered and dated names alike.
  std::sort(old.begin(), old.end(),
            [](const LogFile& a, const LogFile& b) { return a.mtime > b.mtime; });
  if (old.size() > max_rotated) old.resize(max_rotated);
  for (size_t i = 0; i < old.size(); ++i) old[i].order = static_cast<int>(i + 1);
  return old;
}

std::string basename_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

bool program_matches(const Denial& d, const std::vector<std::string>& patterns) {
  for (const auto& pat : patterns)
    for (const auto& prog : d.programs)
      if (::fnmatch(pat.c_str(), prog.c_str(), 0) == 0 ||
          ::fnmatch(pat.c_str(), basename_of(prog).c_str(), 0) == 0)
        return true;
  return false;
}

bool path_matches(const Denial& d, const std::vector<std::string>& patterns) {
  for (const auto& pat : patterns) {
    bool glob = has_glob(pat);
    std::string base =
        !glob && pat.size() > 1 && pat.back() == '/' ? pat.substr(0, pat.size() - 1) : pat;
    for (const auto& p : d.paths) {
      if (glob) {
        if (::fnmatch(pat.c_str(), p.c_str(), 0) == 0) return true;
      } else if (p == base || (p.rfind(base, 0) == 0 && p.size() > base.size() &&
                               (p[base.size()] == '/' || base == "/"))) {
        return true;
      }
    }
  }
  return false;
}

std::string type_of(const std::string& context) {
  auto c = parse_context(context);
  return c.valid ? c.type : context;
}

std::string join(const std::set<std::string>& items, size_t max) {
  std::string out;
  size_t n = 0;
  for (const auto& i : items) {
    if (n++ == max) {
      out += ", ...";
      break;
    }
    out += (out.empty() ? "" : ", ") + i;
  }
  return out;
}

// Opens the live audit log through the safe-open primitive, or reports why not. A link (to a
// root-only file), a FIFO (which would block) or a device planted in its place is refused.
std::optional<support::SafeOpened> open_live_log(const std::string& log, const std::string& root,
                                                 sdk::Context& ctx) {
  auto opened = support::open_untrusted(log, support::Expect::regular);
  if (opened) return opened;
  if (opened.refusal != support::Refusal::missing && opened.refusal != support::Refusal::denied) {
    ctx.report(sdk::Status::error, "the audit log " + log + " was not read: " + opened.message,
               "Point audit_log at the log file itself (log_file in /etc/audit/auditd.conf). A "
               "symbolic link, a FIFO or a device there is neither followed nor read: in a "
               "directory another account can write, it could lead to a file that account "
               "cannot read, or block the check.",
               {{"audit_log", log}, {"refused", opened.message}});
    return std::nullopt;
  }
  int err = opened.error;
  SelinuxState state = read_selinux_state(root);
  json details = {
      {"audit_log", log}, {"error", errno_text(err)}, {"selinux_enabled", state.enabled}};
  if (!state.enabled && opened.refusal == support::Refusal::missing) {
    ctx.skip("SELinux is not enabled on this host and there is no audit log at " + log, details);
    return std::nullopt;
  }
  ctx.report(sdk::Status::error, "cannot read the audit log " + log + ": " + errno_text(err),
             opened.refusal == support::Refusal::missing
                 ? "Without auditd the kernel sends AVC denials to the kernel log: start auditd "
                   "(`systemctl enable --now auditd`) or point audit_log at the file your "
                   "audit daemon writes (log_file in /etc/audit/auditd.conf); meanwhile "
                   "`journalctl -k -g avc` shows recent denials."
                 : "Run backup-doctor as root (the audit log is readable by root only), or "
                   "point audit_log at a readable copy.",
             details);
  return std::nullopt;
}

// The parameters, checked.
struct Options {
  std::string log;
  bool rotated = true;
  std::chrono::milliseconds since{};
  std::vector<std::string> programs, paths;
  size_t max_items = 20, max_rotated = 20;
  std::string root;
};

Options parse_options(const json& params) {
  Options o;
  o.log = string_param(params, "audit_log", "/var/log/audit/audit.log");
  o.rotated = bool_param(params, "include_rotated", true);
  o.since = duration_param(params, "since", "24h");
  o.programs = string_list(params, "programs", kDefaultPrograms);
  o.paths = string_list(params, "paths", {});
  o.max_items = count_param(params, "max_items", 20);
  o.max_rotated = count_param(params, "max_rotated", 20);
  o.root = string_param(params, "selinuxfs_root", kDefaultSelinuxfs);
  return o;
}

// What reading the logs gathered: the denials in the window, completed by the other records
// of their events, and counts of everything else.
struct LogScan {
  json files_json = json::array();
  std::vector<Denial> denials;
  std::unordered_map<EventKey, std::vector<size_t>, EventKeyHash> by_event;
  size_t lines = 0, records = 0, malformed = 0, overlong = 0, denials_before = 0, granted = 0;
  json malformed_examples = json::array();
  bool cancelled = false;
};

// Counts for the log being read.
struct FileCounts {
  size_t lines = 0, malformed = 0, in_window = 0;
};

// operator[] on `fields`: a missing field reads as empty.
Denial denial_of(AuditRecord& r) {
  Denial d;
  d.timestamp = r.timestamp;
  d.scontext = r.fields["scontext"];
  d.tcontext = r.fields["tcontext"];
  d.tclass = r.fields["tclass"];
  d.permissions = r.permissions;
  if (auto* p = r.field("permissive")) d.permissive = *p == "1";
  for (const char* k : {"comm", "exe"})
    if (auto* v = r.field(k); v && !v->empty() && *v != "?") d.programs.insert(*v);
  if (auto* v = r.field("path"); v && !v->empty()) d.paths.insert(*v);
  if (auto* v = r.field("name"); v && !v->empty() && *v != "(null)") d.paths.insert(*v);
  return d;
}

// An AVC or USER_AVC record: a denial in the window is kept, the rest only counted.
void add_avc(AuditRecord& r, bool in_window, LogScan& s) {
  if (r.avc_result != "denied") {
    if (r.avc_result == "granted") ++s.granted;
    return;
  }
  if (!in_window) {
    ++s.denials_before;
    return;
  }
  s.by_event[key_of(r)].push_back(s.denials.size());
  s.denials.push_back(denial_of(r));
}

// Records that complete an AVC's event: who ran (SYSCALL) and on what (CWD, PATH).
void complete_event(AuditRecord& r, LogScan& s) {
  if (r.type != "SYSCALL" && r.type != "PATH" && r.type != "CWD") return;
  auto ev = s.by_event.find(key_of(r));
  if (ev == s.by_event.end()) return;
  parse_fields(r);
  for (size_t idx : ev->second) {
    Denial& d = s.denials[idx];
    if (r.type == "SYSCALL") {
      for (const char* k : {"comm", "exe"})
        if (auto* v = r.field(k); v && !v->empty() && *v != "(null)") d.programs.insert(*v);
    } else if (r.type == "CWD") {
      if (auto* v = r.field("cwd")) d.cwd = *v;
    } else if (auto* v = r.field("name"); v && !v->empty() && *v != "(null)") {
      d.paths.insert(v->front() == '/' || d.cwd.empty() ? *v : d.cwd + "/" + *v);
    }
  }
}

// One line of the log `f`. False to stop reading (cancelled).
bool read_line(std::string_view text, const LogFile& f, double start, FileCounts& counts,
               LogScan& s, sdk::Context& ctx) {
  static const ParseOptions lazy{true};
  ++counts.lines;
  if (counts.lines % 8192 == 0 && ctx.cancelled()) {
    s.cancelled = true;
    return false;
  }
  AuditRecord r;
  std::string why;
  LineKind kind = parse_audit_line(text, r, &why, lazy);
  if (kind == LineKind::ignorable) return true;
  if (kind == LineKind::malformed) {
    ++counts.malformed;
    if (s.malformed_examples.size() < kMaxMalformedExamples)
      s.malformed_examples.push_back(
          {{"file", f.path}, {"line", counts.lines}, {"reason", why}, {"length", text.size()}});
    return true;
  }
  ++s.records;
  bool in_window = r.timestamp >= start;
  if (in_window) ++counts.in_window;
  if (r.type == "AVC" || r.type == "USER_AVC")
    add_avc(r, in_window, s);
  else
    complete_event(r, s);
  return true;
}

// Reads one log, adding what it holds to `s` and its entry to s.files_json. `live` is the
// already open live log.
void read_log(const LogFile& f, support::SafeOpened& live, double start, LogScan& s,
              sdk::Context& ctx) {
  json fj = {{"path", f.path}, {"mtime", iso_time(f.mtime)}};
  if (f.order > 0 && f.mtime < start) {
    // Written to for the last time before the window opened: nothing in it can count.
    fj["skipped"] = "older than the window";
    s.files_json.push_back(fj);
    return;
  }
  support::SafeOpened opened =
      f.order == 0 ? std::move(live) : support::open_untrusted(f.path, support::Expect::regular);
  if (!opened) {
    fj["skipped"] = opened.message;  // swapped for a link or a FIFO since it was listed
    s.files_json.push_back(fj);
    return;
  }
  FileCounts counts;
  ReadResult read = for_each_line(f.path, opened.fd.get(), ctx, [&](std::string_view text) {
    return read_line(text, f, start, counts, s, ctx);
  });
  if (read.cancelled) s.cancelled = true;
  s.overlong += read.overlong_lines;
  if (read.overlong_lines > 0) fj["overlong_lines"] = read.overlong_lines;
  s.malformed += counts.malformed;
  s.lines += counts.lines + read.overlong_lines;
  fj["lines"] = counts.lines;
  fj["records_in_window"] = counts.in_window;
  fj["malformed_lines"] = counts.malformed;
  s.files_json.push_back(fj);
}

// The live log and, when asked, its rotated predecessors, read oldest first so that events cut
// by a rotation are still seen in order.
void read_logs(const Options& o, support::SafeOpened& live, double start, LogScan& s,
               sdk::Context& ctx) {
  std::vector<LogFile> files{{o.log, 0, mtime_of(live.st)}};
  if (o.rotated)
    for (auto& f : rotated_logs(o.log, o.max_rotated)) files.push_back(std::move(f));
  for (auto it = files.rbegin(); it != files.rend() && !s.cancelled; ++it)
    read_log(*it, live, start, s, ctx);
  if (s.cancelled) throw sdk::CheckError("cancelled while reading the audit logs");
}

// The denials that involve backup programs or paths, grouped by (scontext, tcontext, tclass,
// permission); `sorted` points into `groups`, most frequent first.
struct Grouped {
  bool match_all = false;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Group> groups;
  std::vector<const Group*> sorted;
  size_t matched = 0, other = 0, enforced_total = 0;
  double newest = 0;
};

void add_to_groups(const Denial& d, bool enforced, Grouped& out) {
  for (const auto& perm : d.permissions) {
    Group& g = out.groups[{d.scontext, d.tcontext, d.tclass, perm}];
    if (g.count == 0) {
      g.scontext = d.scontext, g.tcontext = d.tcontext, g.tclass = d.tclass, g.permission = perm;
      g.first = d.timestamp;
    }
    ++g.count;
    if (enforced) ++g.enforced;
    g.first = std::min(g.first, d.timestamp);
    g.last = std::max(g.last, d.timestamp);
    g.programs.insert(d.programs.begin(), d.programs.end());
    g.paths.insert(d.paths.begin(), d.paths.end());
  }
}

// Filled in place: `sorted` points into `groups`.
void group_denials(const std::vector<Denial>& denials, const Options& o, Grouped& out) {
  out.match_all = o.programs.empty() && o.paths.empty();
  for (const auto& d : denials) {
    if (!out.match_all && !program_matches(d, o.programs) && !path_matches(d, o.paths)) {
      ++out.other;
      continue;
    }
    ++out.matched;
    bool enforced = !d.permissive.has_value() || !*d.permissive;
    if (enforced) ++out.enforced_total;
    out.newest = std::max(out.newest, d.timestamp);
    add_to_groups(d, enforced, out);
  }
  for (const auto& [k, g] : out.groups) out.sorted.push_back(&g);
  std::sort(out.sorted.begin(), out.sorted.end(), [](const Group* a, const Group* b) {
    return a->count != b->count ? a->count > b->count : a->last > b->last;
  });
}

// A rule to propose: one per (source type, target type, class) with all denied permissions.
struct AccessRule {
  std::string stype, ttype, tclass;
  std::set<std::string> perms, paths, programs;
  size_t count = 0;
  bool enforced = false;
};

std::vector<AccessRule> access_rules(const std::vector<const Group*>& sorted) {
  std::vector<AccessRule> accesses;
  for (const Group* g : sorted) {
    std::string s = type_of(g->scontext), t = type_of(g->tcontext);
    auto it = std::find_if(accesses.begin(), accesses.end(), [&](const AccessRule& a) {
      return a.stype == s && a.ttype == t && a.tclass == g->tclass;
    });
    if (it == accesses.end()) {
      accesses.push_back({s, t, g->tclass, {}, {}, {}, 0, false});
      it = accesses.end() - 1;
    }
    it->perms.insert(g->permission);
    it->paths.insert(g->paths.begin(), g->paths.end());
    it->programs.insert(g->programs.begin(), g->programs.end());
    it->count = std::max(it->count, g->count);
    it->enforced = it->enforced || g->enforced > 0;
  }
  return accesses;
}

// The first absolute path, else any.
std::string example_path(const std::set<std::string>& ps) {
  for (const auto& p : ps)
    if (!p.empty() && p[0] == '/') return p;
  return ps.empty() ? std::string() : *ps.begin();
}

json group_json(const Group& g) {
  std::string s = type_of(g.scontext), t = type_of(g.tcontext);
  std::vector<std::string> some_paths;
  for (const auto& p : g.paths) {
    if (some_paths.size() >= 5) break;
    some_paths.push_back(p);
  }
  return {{"scontext", g.scontext},
          {"tcontext", g.tcontext},
          {"tclass", g.tclass},
          {"permission", g.permission},
          {"count", g.count},
          {"enforced_count", g.enforced},
          {"permissive", g.enforced == 0},
          {"first_timestamp", g.first},
          {"last_timestamp", g.last},
          {"first_seen", iso_time(g.first)},
          {"last_seen", iso_time(g.last)},
          {"programs", std::vector<std::string>(g.programs.begin(), g.programs.end())},
          {"paths", some_paths},
          {"path_count", g.paths.size()},
          {"allow_rule", allow_rule(s, t, g.tclass, {g.permission})},
          {"hint", policy_hint(s, t, g.tclass, {g.permission}, example_path(g.paths))}};
}

// The first max_items groups for the details, each with its metric.
json groups_details(const Grouped& gr, size_t max_items, sdk::Context& ctx) {
  json groups_json = json::array();
  for (const Group* g : gr.sorted) {
    if (groups_json.size() >= max_items) break;
    groups_json.push_back(group_json(*g));
    ctx.metric("selinux_denials_by_access", static_cast<double>(g->count), "count",
               {{"source_type", type_of(g->scontext)},
                {"target_type", type_of(g->tcontext)},
                {"class", g->tclass},
                {"permission", g->permission}});
  }
  return groups_json;
}

void emit_totals(const Grouped& gr, const LogScan& s, sdk::Context& ctx) {
  ctx.metric("selinux_denials", static_cast<double>(gr.matched), "count");
  ctx.metric("selinux_other_denials", static_cast<double>(gr.other), "count");
  ctx.metric("selinux_audit_malformed_lines", static_cast<double>(s.malformed), "count");
  if (gr.matched > 0) ctx.metric("selinux_last_denial_timestamp", gr.newest, "seconds");
}

json denial_details(const Options& o, const json& window, const LogScan& s, const Grouped& gr,
                    const json& groups_json) {
  json details = {{"audit_logs", s.files_json},
                  {"window", window},
                  {"filters", {{"programs", o.programs}, {"paths", o.paths}}},
                  {"lines", s.lines},
                  {"records", s.records},
                  {"denials", gr.matched},
                  {"enforced_denials", gr.enforced_total},
                  {"other_denials", gr.other},
                  {"denials_before_window", s.denials_before},
                  {"granted_records", s.granted},
                  {"groups", groups_json},
                  {"group_count", gr.groups.size()},
                  {"malformed_lines", s.malformed},
                  {"malformed_examples", s.malformed_examples},
                  {"overlong_lines", s.overlong},
                  {"max_line_bytes", kMaxLine}};
  if (gr.matched > 0) details["last_denial"] = iso_time(gr.newest);
  return details;
}

std::string overlong_text(size_t overlong) {
  return overlong == 0 ? std::string()
                       : "; " + std::to_string(overlong) + " line" + (overlong == 1 ? "" : "s") +
                             " longer than 64 KiB (no audit record is) cut and skipped";
}

std::string malformed_text(size_t malformed) {
  return "; " + std::to_string(malformed) + " malformed line" + (malformed == 1 ? "" : "s") +
         " skipped";
}

std::string scope_text(const Grouped& gr) {
  return gr.match_all ? std::string("any program") : "backup programs/paths";
}

// No denial counts: ok, unless the log held no audit record at all.
void report_no_denial(const Options& o, const std::string& window_text, const LogScan& s,
                      const Grouped& gr, const json& details, sdk::Context& ctx) {
  if (s.records == 0 && s.malformed + s.overlong > 0) {
    ctx.warn("none of the " + std::to_string(s.malformed + s.overlong) + " lines of " + o.log +
                 " is an audit record" + overlong_text(s.overlong),
             "Check that audit_log points at auditd's log (log_file in "
             "/etc/audit/auditd.conf); the details list the first lines that did not parse.",
             details);
    return;
  }
  std::string summary = "no AVC denial of " + scope_text(gr) + " " + window_text;
  if (gr.other > 0)
    summary += " (" + std::to_string(gr.other) + " denial" + (gr.other == 1 ? "" : "s") +
               " of other programs)";
  if (s.malformed > 0) summary += malformed_text(s.malformed);
  ctx.ok(summary + overlong_text(s.overlong), details);
}

std::string denials_summary(const std::string& window_text, const LogScan& s, const Grouped& gr) {
  const Group& top = *gr.sorted.front();
  std::string summary =
      std::to_string(gr.matched) + " AVC denial" + (gr.matched == 1 ? "" : "s") + " of " +
      scope_text(gr) + " " + window_text + " in " + std::to_string(gr.groups.size()) + " group" +
      (gr.groups.size() == 1 ? "" : "s") + "; most frequent: " + type_of(top.scontext) +
      " denied " + top.permission + " on " + top.tclass + " " + type_of(top.tcontext) + " (" +
      std::to_string(top.count) + "x, last " + iso_time(top.last) +
      (top.programs.empty() ? "" : " by " + join(top.programs, 2)) + ")";
  if (gr.enforced_total == 0) summary += "; all logged in permissive mode, nothing was blocked yet";
  if (s.malformed > 0) summary += malformed_text(s.malformed);
  return summary + overlong_text(s.overlong);
}

// ausearch only takes locale-formatted dates or keywords; pick the keyword covering the window.
const char* ausearch_keyword(std::chrono::milliseconds since) {
  double secs = std::chrono::duration<double>(since).count();
  return secs <= 600         ? "recent"
         : secs <= 3600      ? "this-hour"
         : secs <= 86400     ? "yesterday"
         : secs <= 7 * 86400 ? "week-ago"
                             : "this-year";
}

// One line per rule (at most max_items), then how to see the raw records.
std::string denials_remediation(const std::vector<AccessRule>& accesses, const Options& o) {
  std::string remediation;
  size_t shown = 0;
  for (const auto& a : accesses) {
    if (shown++ >= o.max_items) {
      remediation +=
          "\n(" + std::to_string(accesses.size() - o.max_items) + " more in the details)";
      break;
    }
    std::string perms;
    for (const auto& p : a.perms) perms += (perms.empty() ? "" : " ") + p;
    std::string ex = example_path(a.paths);
    remediation += (remediation.empty() ? "" : "\n") + a.stype + " may not " + perms + " " +
                   a.tclass + " " + a.ttype + (ex.empty() ? "" : " (e.g. " + ex + ")") +
                   (a.programs.empty() ? "" : " for " + join(a.programs, 3)) +
                   (a.enforced ? "" : " [permissive: only logged]") + ": " +
                   policy_hint(a.stype, a.ttype, a.tclass, a.perms, ex) + ".";
  }
  remediation += std::string("\nThe raw records: `ausearch -m AVC,USER_AVC -ts ") +
                 ausearch_keyword(o.since) + "` (add `-if " + shell_quote(o.log) +
                 "` for another log); after review, "
                 "`audit2allow -M backup_local` builds a module from the same records.";
  return remediation;
}

void run(const json& params, sdk::Context& ctx) {
  const Options o = parse_options(params);
  const double now = now_seconds();
  const double start = now - std::chrono::duration<double>(o.since).count();
  json window = {{"since", string_param(params, "since", "24h")},
                 {"start", iso_time(start)},
                 {"start_timestamp", start}};

  auto live = open_live_log(o.log, o.root, ctx);
  if (!live) return;
  LogScan scan;
  read_logs(o, *live, start, scan, ctx);

  Grouped grouped;
  group_denials(scan.denials, o, grouped);
  const std::vector<AccessRule> accesses = access_rules(grouped.sorted);
  json groups_json = groups_details(grouped, o.max_items, ctx);
  emit_totals(grouped, scan, ctx);
  json details = denial_details(o, window, scan, grouped, groups_json);

  std::string window_text = "since " + iso_time(start);
  if (grouped.matched == 0) {
    report_no_denial(o, window_text, scan, grouped, details, ctx);
    return;
  }
  std::string summary = denials_summary(window_text, scan, grouped);
  std::string remediation = denials_remediation(accesses, o);
  if (grouped.enforced_total > 0)
    ctx.fail(summary, remediation, details);
  else
    ctx.warn(summary, remediation, details);
}

}  // namespace

sdk::CheckType denials_check() {
  return {
      .type = "selinux.denials",
      .summary = "AVC denials that hit backup programs or paths",
      .doc =
          "Reads the audit log and its rotated predecessors that reach into the window (`since`), "
          "keeps AVC and USER_AVC denials whose process (comm, exe, also from the event's "
          "SYSCALL record) matches `programs` or whose path (path=, name=, PATH records) lies "
          "under `paths`, and groups them by source context, target context, class and "
          "permission with counts and the newest time. Each group gets a hint: a relabel with "
          "semanage fcontext and restorecon when the target carries a generic type such as "
          "default_t, otherwise the allow rule to review. Denials logged in permissive mode "
          "warn; enforced ones fail. Lines that are not audit records are counted, never fatal; "
          "lines longer than 64 KiB (no audit record is) are cut and counted, so memory stays "
          "small whatever the file holds. A link, a FIFO or a device in place of the log is "
          "refused, and only regular files count as rotated logs. Works without SELinux on the "
          "host running the check when the log is given.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::selinux
