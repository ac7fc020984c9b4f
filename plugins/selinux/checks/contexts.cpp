// selinux.contexts: the security context each backup path carries vs the one the policy (or
// the operator) expects, like `restorecon -n -v` would report.
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "selinuxfs.hpp"

#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <selinux/label.h>
#include <selinux/selinux.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>

namespace backup_doctor::selinux {

using nlohmann::json;
using sdk::bool_param;
using sdk::count_param;
using sdk::errno_text;
using sdk::shell_quote;
using sdk::string_list;
using sdk::string_param;

namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["paths"],
  "properties": {
    "paths": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
      "description": "Backup paths whose labels to compare (e.g. /opt/backups/database)."},
    "recursive": {"type": "boolean", "default": false,
      "description": "Also check everything below each directory. Default false (only the paths themselves)."},
    "max_files": {"type": "integer", "minimum": 1, "default": 10000,
      "description": "Stop after checking this many entries in total. Default 10000."},
    "expected_type": {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_]+$",
      "description": "The SELinux type the paths must carry (e.g. postgresql_db_t). Optional: by default the type comes from the policy's file contexts, as restorecon would set it."},
    "file_contexts": {"type": "string", "minLength": 1,
      "description": "The file_contexts file to look the expected context up in. Default: contexts/files/file_contexts of the policy named by SELINUXTYPE in the config file."},
    "selinuxfs_root": {"type": "string", "minLength": 1, "default": "/sys/fs/selinux",
      "description": "Where selinuxfs is mounted; SELinux counts as enabled when it holds an enforce file. Default /sys/fs/selinux; tests point it at a fake tree."},
    "config": {"type": "string", "minLength": 1, "default": "/etc/selinux/config",
      "description": "The SELinux configuration file, used to find the policy's file contexts. Default /etc/selinux/config."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many mismatches are listed in the details. Default 20."}
  }
})";

struct LabelHandle {
  selabel_handle* h = nullptr;
  ~LabelHandle() {
    if (h) selabel_close(h);
  }
};

std::string actual_context(const std::string& path, int* err) {
  char* con = nullptr;
  if (lgetfilecon_raw(path.c_str(), &con) < 0) {
    *err = errno;
    return {};
  }
  std::string out = con ? con : "";
  freecon(con);
  *err = 0;
  return out;
}

// The policy's context for path, or empty when no rule covers it (restorecon leaves it alone).
std::string policy_context(selabel_handle* h, const std::string& path, mode_t mode) {
  if (h == nullptr) return {};
  char* con = nullptr;
  if (selabel_lookup_raw(h, &con, path.c_str(), static_cast<int>(mode & S_IFMT)) < 0) return {};
  std::string out = con ? con : "";
  freecon(con);
  return out;
}

constexpr int kMaxDepth = 256;

// Where an open directory really is (links resolved), for the policy lookup.
std::string descriptor_path(int fd, const std::string& fallback) {
  char buf[4096];
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : fallback;
}

struct Mismatch {
  std::string path;
  std::string top;  // the configured path it was found under
  std::string actual, expected, policy;
  std::string actual_type, expected_type;
  bool is_dir = false;
};

// The parameters, checked.
struct Options {
  std::vector<std::string> paths;
  bool recursive = false;
  size_t max_files = 10000, max_items = 20;
  std::string expected_type, root, config_path;
};

Options parse_options(const json& params) {
  Options o;
  o.paths = string_list(params, "paths", {});
  if (o.paths.empty()) throw sdk::CheckError("parameter 'paths' must list at least one path");
  o.recursive = bool_param(params, "recursive", false);
  o.max_files = count_param(params, "max_files", 10000);
  o.max_items = count_param(params, "max_items", 20);
  o.expected_type = string_param(params, "expected_type", "");
  o.root = string_param(params, "selinuxfs_root", kDefaultSelinuxfs);
  o.config_path = string_param(params, "config", kDefaultConfig);
  return o;
}

// The policy's file contexts, or why they could not be loaded.
struct FileContexts {
  std::string path;
  LabelHandle handle;
  std::string error;
};

// Loads the file contexts named by the parameters or the policy in the config file. Throws
// when there are none and no expected_type to compare with instead.
void load_file_contexts(const json& params, const Options& o, FileContexts& out) {
  SelinuxConfig config = read_selinux_config(o.config_path);
  out.path = string_param(params, "file_contexts", "");
  if (out.path.empty()) out.path = default_file_contexts(config);
  if (!out.path.empty()) {
    selinux_opt opts[] = {{SELABEL_OPT_PATH, out.path.c_str()}};
    out.handle.h = selabel_open(SELABEL_CTX_FILE, opts, 1);
    if (!out.handle.h)
      out.error = "cannot load file contexts " + out.path + ": " + errno_text(errno);
  } else {
    out.error = "no file_contexts given and " + o.config_path + " names no policy (SELINUXTYPE=)";
  }
  if (!out.handle.h && o.expected_type.empty())
    throw sdk::CheckError(out.error + "; give file_contexts or expected_type");
}

// What the walk over the paths found.
struct Scan {
  std::vector<Mismatch> mismatches;
  json missing = json::array();
  json unreadable = json::array();
  json refused = json::array();
  size_t checked = 0, unlabeled = 0, no_rule = 0;
  bool truncated = false;
  std::map<std::string, size_t> per_top;  // mismatches under each configured path
};

// What a walk needs at every step.
struct Walk {
  const Options& o;
  selabel_handle* labels;
  sdk::Context& ctx;
  Scan& scan;
};

// `label_path` names the entry through its parent's descriptor (/proc/self/fd/N/name).
void check_one(Walk& w, const std::string& path, const std::string& label_path,
               const std::string& top, const struct stat& st) {
  Scan& s = w.scan;
  ++s.checked;
  int err = 0;
  std::string actual = actual_context(label_path, &err);
  if (actual.empty() && err != ENODATA && err != ENOTSUP && err != 0) {
    if (s.unreadable.size() < w.o.max_items)
      s.unreadable.push_back({{"path", path}, {"error", errno_text(err)}});
    return;
  }
  if (actual.empty()) ++s.unlabeled;
  std::string policy = policy_context(w.labels, path, st.st_mode);
  const std::string& expected_type = w.o.expected_type;
  std::string expected_t = expected_type;
  if (expected_t.empty()) {
    if (policy.empty()) {
      ++s.no_rule;
      return;
    }
    expected_t = parse_context(policy).type;
  }
  std::string actual_t = actual.empty() ? "" : parse_context(actual).type;
  if (actual_t == expected_t) return;  // restorecon compares the type only (without -F)
  Mismatch m{path,
             top,
             actual.empty() ? "(none)" : actual,
             "",
             policy,
             actual_t,
             expected_t,
             S_ISDIR(st.st_mode)};
  m.expected = expected_type.empty() ? policy : expected_type;
  ++s.per_top[top];
  s.mismatches.push_back(std::move(m));
}

// Every entry is labelled through its parent directory's descriptor and every directory is
// opened O_NOFOLLOW relative to its parent: a component swapped for a link during the walk
// is never followed. A configured path that is itself a link is checked as a link, the way
// restorecon labels it.
void visit(Walk& w, int dir, const std::string& dir_path, const support::DirEntry& e,
           const std::string& top, int depth) {
  Scan& s = w.scan;
  if (depth > 0 && (s.checked >= w.o.max_files || (s.checked % 1024 == 0 && w.ctx.cancelled()))) {
    s.truncated = true;
    return;
  }
  std::string path = dir_path == "/" ? "/" + e.name : dir_path + "/" + e.name;
  check_one(w, path, "/proc/self/fd/" + std::to_string(dir) + "/" + e.name, top, e.st);
  if (!w.o.recursive || !S_ISDIR(e.st.st_mode) || depth >= kMaxDepth) return;
  auto sub = support::open_untrusted_at(dir, dir_path, e.name, support::Expect::directory);
  std::vector<support::DirEntry> entries;
  int err = sub ? support::list_directory(sub.fd.get(), entries) : 0;
  if ((!sub || err != 0) && s.unreadable.size() < w.o.max_items)
    s.unreadable.push_back({{"path", path}, {"error", sub ? errno_text(err) : sub.message}});
  for (const auto& child : entries) {
    if (s.truncated) return;
    visit(w, sub.fd.get(), path, child, top, depth + 1);
  }
}

// One configured path: opened through its parent (refused when the way there is not safe),
// then walked.
void check_given(Walk& w, const std::string& given) {
  Scan& s = w.scan;
  std::error_code ec;
  fs::path abs = fs::absolute(given, ec).lexically_normal();
  if (!abs.has_filename() && abs != abs.root_path()) abs = abs.parent_path();
  std::string name = abs.filename().string();
  auto parent = support::open_untrusted(abs.parent_path().string(), support::Expect::directory);
  struct stat st {};
  if (!parent && parent.refusal != support::Refusal::missing) {
    s.refused.push_back({{"path", given}, {"reason", parent.message}});
    return;
  }
  if (!parent || name.empty() ||
      ::fstatat(parent.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    s.missing.push_back({{"path", given}, {"error", errno_text(parent ? errno : ENOENT)}});
    return;
  }
  std::string real_parent = descriptor_path(parent.fd.get(), abs.parent_path().string());
  std::string top = real_parent == "/" ? "/" + name : real_parent + "/" + name;
  visit(w, parent.fd.get(), real_parent, support::DirEntry{name, st}, top, 0);
}

json scan_details(const Scan& s, const Options& o, const FileContexts& fc) {
  json list = json::array();
  for (const auto& m : s.mismatches) {
    if (list.size() >= o.max_items) break;
    list.push_back({{"path", m.path},
                    {"actual", m.actual},
                    {"expected", m.expected},
                    {"policy", m.policy.empty() ? json(nullptr) : json(m.policy)},
                    {"actual_type", m.actual_type.empty() ? json(nullptr) : json(m.actual_type)},
                    {"expected_type", m.expected_type}});
  }
  json details = {
      {"checked", s.checked},
      {"mismatch_count", s.mismatches.size()},
      {"mismatches", list},
      {"unlabeled", s.unlabeled},
      {"no_policy_rule", s.no_rule},
      {"missing", s.missing},
      {"refused", s.refused},
      {"unreadable", s.unreadable},
      {"truncated", s.truncated},
      {"file_contexts", fc.handle.h ? json(fc.path) : json(nullptr)},
      {"expected_type", o.expected_type.empty() ? json(nullptr) : json(o.expected_type)}};
  if (!fc.error.empty() && !fc.handle.h) details["file_contexts_error"] = fc.error;
  return details;
}

void report_all_labelled(const Scan& s, const Options& o, const json& details, sdk::Context& ctx) {
  std::string summary = std::to_string(s.checked) + " entr" + (s.checked == 1 ? "y" : "ies") +
                        " carry the expected SELinux type" +
                        (o.expected_type.empty() ? "" : " " + o.expected_type);
  if (!s.unreadable.empty()) summary += " (" + std::to_string(s.unreadable.size()) + " unreadable)";
  if (s.truncated) summary += " (stopped after max_files)";
  ctx.ok(summary, details);
}

// The fix for one configured path: relabel from the policy, or first teach the policy the type.
std::string relabel_fix(const std::string& top, size_t count, const Scan& s,
                        const std::string& expected_type) {
  const Mismatch* first = nullptr;
  for (const auto& m : s.mismatches)
    if (m.top == top) {
      first = &m;
      break;
    }
  bool dir = first->is_dir || first->path != top;
  std::string restore = std::string("restorecon ") + (dir ? "-Rv " : "-v ") + shell_quote(top);
  bool policy_agrees =
      expected_type.empty() ||
      (!first->policy.empty() && parse_context(first->policy).type == expected_type);
  if (policy_agrees)
    return top + ": " + std::to_string(count) + " entr" + (count == 1 ? "y carries" : "ies carry") +
           " another type than the policy assigns (" + first->actual_type + " instead of " +
           first->expected_type + "); reset the labels with `" + restore +
           "` (add -n first to only see what would change).";
  std::string spec = dir ? top + "(/.*)?" : top;
  return top + ": the policy " +
         (first->policy.empty() ? std::string("has no rule for it")
                                : "labels it " + parse_context(first->policy).type) +
         " but it must be " + expected_type +
         "; record the rule and apply it with `semanage fcontext -a -t " + expected_type + " " +
         shell_quote(spec) + " && " + restore + "` (`chcon -R -t " + expected_type +
         "` would only last until the next relabel).";
}

// One fix per configured path with mismatches, then one per missing or refused path.
std::string remediation_text(const Scan& s, const std::string& expected_type) {
  std::string remediation;
  for (const auto& [top, count] : s.per_top)
    remediation += (remediation.empty() ? "" : "\n") + relabel_fix(top, count, s, expected_type);
  for (const auto& m : s.missing)
    remediation += (remediation.empty() ? "" : "\n") + m["path"].get<std::string>() +
                   " does not exist: create it, or fix the path in the checklist.";
  for (const auto& r : s.refused)
    remediation += (remediation.empty() ? "" : "\n") + r["path"].get<std::string>() +
                   " was not checked (" + r["reason"].get<std::string>() +
                   "): name the real directory in paths, not a way through a link another "
                   "account controls.";
  return remediation;
}

std::string failure_summary(const Scan& s) {
  std::string summary;
  if (!s.mismatches.empty()) {
    const auto& m = s.mismatches.front();
    summary = std::to_string(s.mismatches.size()) + " of " + std::to_string(s.checked) +
              " entries carry the wrong SELinux type (e.g. " + m.path + " is " +
              (m.actual_type.empty() ? "unlabeled" : m.actual_type) + ", expected " +
              m.expected_type + ")";
  }
  if (!s.missing.empty())
    summary += (summary.empty() ? "" : "; ") + std::to_string(s.missing.size()) + " path" +
               (s.missing.size() == 1 ? "" : "s") + " missing";
  if (!s.refused.empty())
    summary += (summary.empty() ? "" : "; ") + s.refused[0]["path"].get<std::string>() +
               " not checked: " + s.refused[0]["reason"].get<std::string>();
  return summary;
}

void run(const json& params, sdk::Context& ctx) {
  const Options o = parse_options(params);
  SelinuxState state = read_selinux_state(o.root);
  if (!state.enabled) {
    ctx.skip("SELinux is not enabled on this host",
             {{"reason", state.reason}, {"selinuxfs", o.root}});
    return;
  }
  FileContexts fc;
  load_file_contexts(params, o, fc);

  Scan scan;
  Walk walk{o, fc.handle.h, ctx, scan};
  for (const auto& given : o.paths) {
    if (scan.truncated) break;
    check_given(walk, given);
  }

  ctx.metric("selinux_files_checked", static_cast<double>(scan.checked), "count");
  ctx.metric("selinux_context_mismatches", static_cast<double>(scan.mismatches.size()), "count");
  json details = scan_details(scan, o, fc);
  if (scan.mismatches.empty() && scan.missing.empty() && scan.refused.empty()) {
    report_all_labelled(scan, o, details, ctx);
    return;
  }
  ctx.fail(failure_summary(scan), remediation_text(scan, o.expected_type), details);
}

}  // namespace

sdk::CheckType contexts_check() {
  return {.type = "selinux.contexts",
          .summary = "SELinux labels of backup paths vs what the policy expects",
          .doc =
              "For each path (and, with `recursive`, everything below it) compares the type of the "
              "security context it carries (lgetfilecon) with the type the policy's file contexts "
              "assign to that path (selabel_lookup, as restorecon does), or with `expected_type`. "
              "Mislabeled backup directories are a classic cause of \"permission denied\" for "
              "confined services such as PostgreSQL or rsync. Mismatches come with the exact "
              "restorecon (and, when the policy lacks a rule, semanage fcontext) command. Skipped "
              "when SELinux is not enabled.\n\nLinks are never followed: a configured path that is "
              "a link is checked as the link (as restorecon labels it), a link further up that "
              "another account made is refused, and the walk opens each directory relative to its "
              "parent, so a directory swapped for a link is never entered.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::selinux
