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

#include "archive_filters.hpp"
#include "safe_open.hpp"

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
    "since": {"type": "string", "minLength": 1, "pattern": "@duration@", "default": "24h",
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

void run(const json& params, sdk::Context& ctx) {
  std::string log = string_param(params, "audit_log", "/var/log/audit/audit.log");
  bool rotated = bool_param(params, "include_rotated", true);
  auto since = duration_param(params, "since", "24h");
  auto programs = string_list(params, "programs", kDefaultPrograms);
  auto paths = string_list(params, "paths", {});
  size_t max_items = count_param(params, "max_items", 20);
  size_t max_rotated = count_param(params, "max_rotated", 20);
  std::string root = string_param(params, "selinuxfs_root", kDefaultSelinuxfs);

  const double now = now_seconds();
  const double start = now - std::chrono::duration<double>(since).count();
  json window = {{"since", string_param(params, "since", "24h")},
                 {"start", iso_time(start)},
                 {"start_timestamp", start}};

  auto live = open_live_log(log, root, ctx);
  if (!live) return;
  std::vector<LogFile> files{{log, 0, mtime_of(live->st)}};
  if (rotated)
    for (auto& f : rotated_logs(log, max_rotated)) files.push_back(std::move(f));
  json files_json = json::array();
  std::vector<Denial> denials;
  std::unordered_map<EventKey, std::vector<size_t>, EventKeyHash> by_event;
  size_t lines = 0, records = 0, malformed = 0, overlong = 0, denials_before = 0, granted = 0;
  json malformed_examples = json::array();
  bool cancelled = false;
  const ParseOptions lazy{true};

  // Oldest first, so that events cut by a rotation are still seen in order.
  for (auto it = files.rbegin(); it != files.rend() && !cancelled; ++it) {
    const LogFile& f = *it;
    json fj = {{"path", f.path}, {"mtime", iso_time(f.mtime)}};
    if (f.order > 0 && f.mtime < start) {
      // Written to for the last time before the window opened: nothing in it can count.
      fj["skipped"] = "older than the window";
      files_json.push_back(fj);
      continue;
    }
    support::SafeOpened opened =
        f.order == 0 ? std::move(*live) : support::open_untrusted(f.path, support::Expect::regular);
    if (!opened) {
      fj["skipped"] = opened.message;  // swapped for a link or a FIFO since it was listed
      files_json.push_back(fj);
      continue;
    }
    size_t file_lines = 0, file_malformed = 0, file_in_window = 0;
    ReadResult read = for_each_line(f.path, opened.fd.get(), ctx, [&](std::string_view text) {
      ++file_lines;
      if (file_lines % 8192 == 0 && ctx.cancelled()) {
        cancelled = true;
        return false;
      }
      AuditRecord r;
      std::string why;
      LineKind kind = parse_audit_line(text, r, &why, lazy);
      if (kind == LineKind::ignorable) return true;
      if (kind == LineKind::malformed) {
        ++file_malformed;
        if (malformed_examples.size() < kMaxMalformedExamples)
          malformed_examples.push_back(
              {{"file", f.path}, {"line", file_lines}, {"reason", why}, {"length", text.size()}});
        return true;
      }
      ++records;
      bool in_window = r.timestamp >= start;
      if (in_window) ++file_in_window;
      if (r.type == "AVC" || r.type == "USER_AVC") {
        if (r.avc_result != "denied") {
          if (r.avc_result == "granted") ++granted;
          return true;
        }
        if (!in_window) {
          ++denials_before;
          return true;
        }
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
        by_event[key_of(r)].push_back(denials.size());
        denials.push_back(std::move(d));
        return true;
      }
      // Records that complete an AVC's event: who ran (SYSCALL) and on what (CWD, PATH).
      if (r.type != "SYSCALL" && r.type != "PATH" && r.type != "CWD") return true;
      auto ev = by_event.find(key_of(r));
      if (ev == by_event.end()) return true;
      parse_fields(r);
      for (size_t idx : ev->second) {
        Denial& d = denials[idx];
        if (r.type == "SYSCALL") {
          for (const char* k : {"comm", "exe"})
            if (auto* v = r.field(k); v && !v->empty() && *v != "(null)") d.programs.insert(*v);
        } else if (r.type == "CWD") {
          if (auto* v = r.field("cwd")) d.cwd = *v;
        } else if (auto* v = r.field("name"); v && !v->empty() && *v != "(null)") {
          d.paths.insert(v->front() == '/' || d.cwd.empty() ? *v : d.cwd + "/" + *v);
        }
      }
      return true;
    });
    if (read.cancelled) cancelled = true;
    overlong += read.overlong_lines;
    if (read.overlong_lines > 0) fj["overlong_lines"] = read.overlong_lines;
    malformed += file_malformed;
    lines += file_lines + read.overlong_lines;
    fj["lines"] = file_lines;
    fj["records_in_window"] = file_in_window;
    fj["malformed_lines"] = file_malformed;
    files_json.push_back(fj);
  }
  if (cancelled) throw sdk::CheckError("cancelled while reading the audit logs");

  // Filter and group by (scontext, tcontext, tclass, permission).
  const bool match_all = programs.empty() && paths.empty();
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Group> groups;
  size_t matched = 0, other = 0, enforced_total = 0;
  double newest = 0;
  for (const auto& d : denials) {
    if (!match_all && !program_matches(d, programs) && !path_matches(d, paths)) {
      ++other;
      continue;
    }
    ++matched;
    bool enforced = !d.permissive.has_value() || !*d.permissive;
    if (enforced) ++enforced_total;
    newest = std::max(newest, d.timestamp);
    for (const auto& perm : d.permissions) {
      Group& g = groups[{d.scontext, d.tcontext, d.tclass, perm}];
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
  std::vector<const Group*> sorted;
  for (const auto& [k, g] : groups) sorted.push_back(&g);
  std::sort(sorted.begin(), sorted.end(), [](const Group* a, const Group* b) {
    return a->count != b->count ? a->count > b->count : a->last > b->last;
  });

  // The rules: one per (source type, target type, class) with all denied permissions.
  struct Access {
    std::string stype, ttype, tclass;
    std::set<std::string> perms, paths, programs;
    size_t count = 0;
    bool enforced = false;
  };
  std::vector<Access> accesses;
  for (const Group* g : sorted) {
    std::string s = type_of(g->scontext), t = type_of(g->tcontext);
    auto it = std::find_if(accesses.begin(), accesses.end(), [&](const Access& a) {
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
  auto example_path = [](const std::set<std::string>& ps) {
    for (const auto& p : ps)
      if (!p.empty() && p[0] == '/') return p;
    return ps.empty() ? std::string() : *ps.begin();
  };

  json groups_json = json::array();
  for (const Group* g : sorted) {
    if (groups_json.size() >= max_items) break;
    std::string s = type_of(g->scontext), t = type_of(g->tcontext);
    std::vector<std::string> some_paths;
    for (const auto& p : g->paths) {
      if (some_paths.size() >= 5) break;
      some_paths.push_back(p);
    }
    groups_json.push_back(
        {{"scontext", g->scontext},
         {"tcontext", g->tcontext},
         {"tclass", g->tclass},
         {"permission", g->permission},
         {"count", g->count},
         {"enforced_count", g->enforced},
         {"permissive", g->enforced == 0},
         {"first_timestamp", g->first},
         {"last_timestamp", g->last},
         {"first_seen", iso_time(g->first)},
         {"last_seen", iso_time(g->last)},
         {"programs", std::vector<std::string>(g->programs.begin(), g->programs.end())},
         {"paths", some_paths},
         {"path_count", g->paths.size()},
         {"allow_rule", allow_rule(s, t, g->tclass, {g->permission})},
         {"hint", policy_hint(s, t, g->tclass, {g->permission}, example_path(g->paths))}});
    ctx.metric("selinux_denials_by_access", static_cast<double>(g->count), "count",
               {{"source_type", s},
                {"target_type", t},
                {"class", g->tclass},
                {"permission", g->permission}});
  }

  ctx.metric("selinux_denials", static_cast<double>(matched), "count");
  ctx.metric("selinux_other_denials", static_cast<double>(other), "count");
  ctx.metric("selinux_audit_malformed_lines", static_cast<double>(malformed), "count");
  if (matched > 0) ctx.metric("selinux_last_denial_timestamp", newest, "seconds");

  json details = {{"audit_logs", files_json},
                  {"window", window},
                  {"filters", {{"programs", programs}, {"paths", paths}}},
                  {"lines", lines},
                  {"records", records},
                  {"denials", matched},
                  {"enforced_denials", enforced_total},
                  {"other_denials", other},
                  {"denials_before_window", denials_before},
                  {"granted_records", granted},
                  {"groups", groups_json},
                  {"group_count", groups.size()},
                  {"malformed_lines", malformed},
                  {"malformed_examples", malformed_examples},
                  {"overlong_lines", overlong},
                  {"max_line_bytes", kMaxLine}};
  const std::string overlong_text =
      overlong == 0 ? std::string()
                    : "; " + std::to_string(overlong) + " line" + (overlong == 1 ? "" : "s") +
                          " longer than 64 KiB (no audit record is) cut and skipped";
  if (matched > 0) details["last_denial"] = iso_time(newest);

  std::string scope = match_all ? std::string("any program") : "backup programs/paths";
  std::string window_text = "since " + iso_time(start);
  if (matched == 0) {
    if (records == 0 && malformed + overlong > 0) {
      ctx.warn("none of the " + std::to_string(malformed + overlong) + " lines of " + log +
                   " is an audit record" + overlong_text,
               "Check that audit_log points at auditd's log (log_file in "
               "/etc/audit/auditd.conf); the details list the first lines that did not parse.",
               details);
      return;
    }
    std::string s = "no AVC denial of " + scope + " " + window_text;
    if (other > 0)
      s += " (" + std::to_string(other) + " denial" + (other == 1 ? "" : "s") +
           " of other programs)";
    if (malformed > 0)
      s += "; " + std::to_string(malformed) + " malformed line" + (malformed == 1 ? "" : "s") +
           " skipped";
    ctx.ok(s + overlong_text, details);
    return;
  }

  const Group& top = *sorted.front();
  std::string summary = std::to_string(matched) + " AVC denial" + (matched == 1 ? "" : "s") +
                        " of " + scope + " " + window_text + " in " +
                        std::to_string(groups.size()) + " group" + (groups.size() == 1 ? "" : "s") +
                        "; most frequent: " + type_of(top.scontext) + " denied " + top.permission +
                        " on " + top.tclass + " " + type_of(top.tcontext) + " (" +
                        std::to_string(top.count) + "x, last " + iso_time(top.last) +
                        (top.programs.empty() ? "" : " by " + join(top.programs, 2)) + ")";
  if (enforced_total == 0) summary += "; all logged in permissive mode, nothing was blocked yet";
  if (malformed > 0)
    summary += "; " + std::to_string(malformed) + " malformed line" + (malformed == 1 ? "" : "s") +
               " skipped";
  summary += overlong_text;

  std::string remediation;
  size_t shown = 0;
  for (const auto& a : accesses) {
    if (shown++ >= max_items) {
      remediation += "\n(" + std::to_string(accesses.size() - max_items) + " more in the details)";
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
  // ausearch only takes locale-formatted dates or keywords; pick the keyword covering the window.
  double secs = std::chrono::duration<double>(since).count();
  const char* ts = secs <= 600         ? "recent"
                   : secs <= 3600      ? "this-hour"
                   : secs <= 86400     ? "yesterday"
                   : secs <= 7 * 86400 ? "week-ago"
                                       : "this-year";
  remediation += std::string("\nThe raw records: `ausearch -m AVC,USER_AVC -ts ") + ts +
                 "` (add `-if " + shell_quote(log) +
                 "` for another log); after review, "
                 "`audit2allow -M backup_local` builds a module from the same records.";
  if (enforced_total > 0)
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
