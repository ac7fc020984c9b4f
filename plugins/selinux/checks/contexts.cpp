// selinux.contexts: the security context each backup path carries vs the one the policy (or
// the operator) expects, like `restorecon -n -v` would report.
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "selinuxfs.hpp"

#include "safe_open.hpp"

#include <fcntl.h>
#include <selinux/label.h>
#include <selinux/selinux.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <functional>
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

void run(const json& params, sdk::Context& ctx) {
  auto paths = string_list(params, "paths", {});
  if (paths.empty()) throw sdk::CheckError("parameter 'paths' must list at least one path");
  bool recursive = bool_param(params, "recursive", false);
  size_t max_files = count_param(params, "max_files", 10000);
  size_t max_items = count_param(params, "max_items", 20);
  std::string expected_type = string_param(params, "expected_type", "");
  std::string root = string_param(params, "selinuxfs_root", kDefaultSelinuxfs);
  std::string config_path = string_param(params, "config", kDefaultConfig);

  SelinuxState state = read_selinux_state(root);
  if (!state.enabled) {
    ctx.skip("SELinux is not enabled on this host",
             {{"reason", state.reason}, {"selinuxfs", root}});
    return;
  }
  SelinuxConfig config = read_selinux_config(config_path);
  std::string fc = string_param(params, "file_contexts", "");
  if (fc.empty()) fc = default_file_contexts(config);

  LabelHandle handle;
  std::string fc_error;
  if (!fc.empty()) {
    selinux_opt opts[] = {{SELABEL_OPT_PATH, fc.c_str()}};
    handle.h = selabel_open(SELABEL_CTX_FILE, opts, 1);
    if (!handle.h) fc_error = "cannot load file contexts " + fc + ": " + errno_text(errno);
  } else {
    fc_error = "no file_contexts given and " + config_path + " names no policy (SELINUXTYPE=)";
  }
  if (!handle.h && expected_type.empty())
    throw sdk::CheckError(fc_error + "; give file_contexts or expected_type");

  std::vector<Mismatch> mismatches;
  json missing = json::array();
  json unreadable = json::array();
  size_t checked = 0, unlabeled = 0, no_rule = 0;
  bool truncated = false;
  std::map<std::string, size_t> per_top;

  json refused = json::array();
  // `label_path` names the entry through its parent's descriptor (/proc/self/fd/N/name).
  auto check_one = [&](const std::string& path, const std::string& label_path,
                       const std::string& top, const struct stat& st) {
    ++checked;
    int err = 0;
    std::string actual = actual_context(label_path, &err);
    if (actual.empty() && err != ENODATA && err != ENOTSUP && err != 0) {
      if (unreadable.size() < max_items)
        unreadable.push_back({{"path", path}, {"error", errno_text(err)}});
      return;
    }
    if (actual.empty()) ++unlabeled;
    std::string policy = policy_context(handle.h, path, st.st_mode);
    std::string expected_t = expected_type;
    if (expected_t.empty()) {
      if (policy.empty()) {
        ++no_rule;
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
    ++per_top[top];
    mismatches.push_back(std::move(m));
  };

  // Every entry is labelled through its parent directory's descriptor and every directory is
  // opened O_NOFOLLOW relative to its parent: a component swapped for a link during the walk
  // is never followed. A configured path that is itself a link is checked as a link, the way
  // restorecon labels it.
  std::function<void(int, const std::string&, const support::DirEntry&, const std::string&, int)>
      visit = [&](int dir, const std::string& dir_path, const support::DirEntry& e,
                  const std::string& top, int depth) {
        if (depth > 0 && (checked >= max_files || (checked % 1024 == 0 && ctx.cancelled()))) {
          truncated = true;
          return;
        }
        std::string path = dir_path == "/" ? "/" + e.name : dir_path + "/" + e.name;
        check_one(path, "/proc/self/fd/" + std::to_string(dir) + "/" + e.name, top, e.st);
        if (!recursive || !S_ISDIR(e.st.st_mode) || depth >= kMaxDepth) return;
        auto sub = support::open_untrusted_at(dir, dir_path, e.name, support::Expect::directory);
        std::vector<support::DirEntry> entries;
        int err = sub ? support::list_directory(sub.fd.get(), entries) : 0;
        if ((!sub || err != 0) && unreadable.size() < max_items)
          unreadable.push_back({{"path", path}, {"error", sub ? errno_text(err) : sub.message}});
        for (const auto& child : entries) {
          if (truncated) return;
          visit(sub.fd.get(), path, child, top, depth + 1);
        }
      };

  for (const auto& given : paths) {
    if (truncated) break;
    std::error_code ec;
    fs::path abs = fs::absolute(given, ec).lexically_normal();
    if (!abs.has_filename() && abs != abs.root_path()) abs = abs.parent_path();
    std::string name = abs.filename().string();
    auto parent = support::open_untrusted(abs.parent_path().string(), support::Expect::directory);
    struct stat st {};
    if (!parent && parent.refusal != support::Refusal::missing) {
      refused.push_back({{"path", given}, {"reason", parent.message}});
      continue;
    }
    if (!parent || name.empty() ||
        ::fstatat(parent.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      missing.push_back({{"path", given}, {"error", errno_text(parent ? errno : ENOENT)}});
      continue;
    }
    std::string real_parent = descriptor_path(parent.fd.get(), abs.parent_path().string());
    std::string top = real_parent == "/" ? "/" + name : real_parent + "/" + name;
    visit(parent.fd.get(), real_parent, support::DirEntry{name, st}, top, 0);
  }

  ctx.metric("selinux_files_checked", static_cast<double>(checked), "count");
  ctx.metric("selinux_context_mismatches", static_cast<double>(mismatches.size()), "count");
  json list = json::array();
  for (const auto& m : mismatches) {
    if (list.size() >= max_items) break;
    list.push_back({{"path", m.path},
                    {"actual", m.actual},
                    {"expected", m.expected},
                    {"policy", m.policy.empty() ? json(nullptr) : json(m.policy)},
                    {"actual_type", m.actual_type.empty() ? json(nullptr) : json(m.actual_type)},
                    {"expected_type", m.expected_type}});
  }
  json details = {{"checked", checked},
                  {"mismatch_count", mismatches.size()},
                  {"mismatches", list},
                  {"unlabeled", unlabeled},
                  {"no_policy_rule", no_rule},
                  {"missing", missing},
                  {"refused", refused},
                  {"unreadable", unreadable},
                  {"truncated", truncated},
                  {"file_contexts", handle.h ? json(fc) : json(nullptr)},
                  {"expected_type", expected_type.empty() ? json(nullptr) : json(expected_type)}};
  if (!fc_error.empty() && !handle.h) details["file_contexts_error"] = fc_error;

  if (mismatches.empty() && missing.empty() && refused.empty()) {
    std::string s = std::to_string(checked) + " entr" + (checked == 1 ? "y" : "ies") +
                    " carry the expected SELinux type" +
                    (expected_type.empty() ? "" : " " + expected_type);
    if (!unreadable.empty()) s += " (" + std::to_string(unreadable.size()) + " unreadable)";
    if (truncated) s += " (stopped after max_files)";
    ctx.ok(s, details);
    return;
  }

  // One fix per configured path: relabel from the policy, or first teach the policy the type.
  std::string remediation;
  for (const auto& [top, count] : per_top) {
    const Mismatch* first = nullptr;
    for (const auto& m : mismatches)
      if (m.top == top) {
        first = &m;
        break;
      }
    bool dir = first->is_dir || first->path != top;
    std::string restore = std::string("restorecon ") + (dir ? "-Rv " : "-v ") + shell_quote(top);
    bool policy_agrees =
        expected_type.empty() ||
        (!first->policy.empty() && parse_context(first->policy).type == expected_type);
    std::string line;
    if (policy_agrees) {
      line = top + ": " + std::to_string(count) + " entr" +
             (count == 1 ? "y carries" : "ies carry") + " another type than the policy assigns (" +
             first->actual_type + " instead of " + first->expected_type +
             "); reset the labels with `" + restore +
             "` (add -n first to only see what would change).";
    } else {
      std::string spec = dir ? top + "(/.*)?" : top;
      line = top + ": the policy " +
             (first->policy.empty() ? std::string("has no rule for it")
                                    : "labels it " + parse_context(first->policy).type) +
             " but it must be " + expected_type +
             "; record the rule and apply it with `semanage fcontext -a -t " + expected_type + " " +
             shell_quote(spec) + " && " + restore + "` (`chcon -R -t " + expected_type +
             "` would only last until the next relabel).";
    }
    remediation += (remediation.empty() ? "" : "\n") + line;
  }
  for (const auto& m : missing)
    remediation += (remediation.empty() ? "" : "\n") + m["path"].get<std::string>() +
                   " does not exist: create it, or fix the path in the checklist.";
  for (const auto& r : refused)
    remediation += (remediation.empty() ? "" : "\n") + r["path"].get<std::string>() +
                   " was not checked (" + r["reason"].get<std::string>() +
                   "): name the real directory in paths, not a way through a link another "
                   "account controls.";

  std::string summary;
  if (!mismatches.empty()) {
    const auto& m = mismatches.front();
    summary = std::to_string(mismatches.size()) + " of " + std::to_string(checked) +
              " entries carry the wrong SELinux type (e.g. " + m.path + " is " +
              (m.actual_type.empty() ? "unlabeled" : m.actual_type) + ", expected " +
              m.expected_type + ")";
  }
  if (!missing.empty())
    summary += (summary.empty() ? "" : "; ") + std::to_string(missing.size()) + " path" +
               (missing.size() == 1 ? "" : "s") + " missing";
  if (!refused.empty())
    summary += (summary.empty() ? "" : "; ") + refused[0]["path"].get<std::string>() +
               " not checked: " + refused[0]["reason"].get<std::string>();
  ctx.fail(summary, remediation, details);
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
