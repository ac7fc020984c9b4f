// files.mode: permission bits, owner and group of a path (optionally of everything beneath it),
// and for scripts the executable bit and a working "#!" line.
#include <backup_doctor/params.hpp>
#include <backup_doctor/support/process.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "file_facts.hpp"
#include "inspect.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::group_name;
using sdk::required_string;
using sdk::shell_quote;
using sdk::user_name;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
             "description": "File or directory to check."},
    "mode": {"type": "string", "pattern": "^0?[0-7]{3,4}$",
             "description": "Exact octal mode the path must have, e.g. \"0700\". Not set by default."},
    "max_mode": {"type": "string", "pattern": "^0?[0-7]{3,4}$",
                 "description": "Most permissive octal mode allowed: any bit beyond it is a problem, e.g. \"0640\" forbids every permission for others and write for the group. A directory may also have the x bit wherever this allows r (so \"0640\" accepts 0750 directories). Not set by default."},
    "owner": {"type": "string", "minLength": 1,
              "description": "Required owning user, by name or uid. Not set by default."},
    "group": {"type": "string", "minLength": 1,
              "description": "Required owning group, by name or gid. Not set by default."},
    "executable": {"type": "boolean", "default": false,
                   "description": "The path is a script or program that must be runnable: a regular file with the owner's execute bit, whose \"#!\" interpreter (if any) exists and has no Windows line ending. Default: false."},
    "recursive": {"type": "boolean", "default": false,
                  "description": "Also apply max_mode, owner and group to every entry beneath a directory (symbolic links are not followed). mode and executable apply to the path itself only. Default: false."},
    "follow_symlinks": {"type": "boolean", "default": true,
                        "description": "When path is a symbolic link, judge its target: followed only when root made the link in a directory only root can change; a link another account could have made fails the check, naming it. false: judge the link itself. Default: true."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
                  "description": "At most this many offending entries are listed in the details when recursive. Default: 20."}
  }
})";

struct Expected {
  std::optional<mode_t> mode, max_mode;
  std::string owner_text, group_text;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  bool owner_missing = false, group_missing = false;
  bool executable = false;
};

std::optional<mode_t> mode_param(const json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  auto m = it->is_string() ? parse_mode(it->get<std::string>()) : std::nullopt;
  if (!m)
    throw sdk::CheckError(std::string("parameter '") + key +
                          "' must be an octal mode such as \"0750\"");
  return m;
}

// Looks at the "#!" line of the script `in` found; empty when fine, else what is wrong. The
// script is opened through open_untrusted, and only when it is still the file that was looked
// at. The interpreter it names is only tested for existence (access, find_program): never run.
std::string shebang_problem(const Inspected& in, const std::string& path, std::string& fix) {
  auto opened = support::open_untrusted(in.resolved, support::Expect::regular);
  if (!opened || opened.st.st_ino != in.found.st.st_ino || opened.st.st_dev != in.found.st.st_dev)
    return {};
  char buf[512];
  ssize_t n = read(opened.fd.get(), buf, sizeof buf);
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return {};
  std::string line(buf + 2, static_cast<size_t>(n) - 2);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') {
    fix = "sed -i 's/\\r$//' " + shell_quote(path);
    return "its #! line ends with a Windows line ending (CR), so the kernel looks for an "
           "interpreter whose name ends in \\r";
  }
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string::npos) return "its #! line names no interpreter";
  size_t end = line.find_first_of(" \t", start);
  std::string interpreter = line.substr(start, end == std::string::npos ? end : end - start);
  if (access(interpreter.c_str(), X_OK) != 0) {
    fix = "install " + interpreter + " or correct the first line of " + shell_quote(path);
    return "its interpreter " + interpreter + " does not exist or is not executable";
  }
  if (interpreter.ends_with("/env") && end != std::string::npos) {
    size_t p = line.find_first_not_of(" \t", end);
    if (p != std::string::npos) {
      std::string program = line.substr(p, line.find_first_of(" \t", p) - p);
      if (program != "-S" && !program.empty() && program[0] != '-' &&
          support::find_program(program).empty()) {
        fix = "install " + program + " (or add its directory to the PATH the job runs with)";
        return "its interpreter '" + program + "' (via env) is not on PATH";
      }
    }
  }
  return {};
}

struct Violation {
  std::string path;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  std::vector<std::string> problems;
};

std::string owner_fix(const Expected& e, bool bad_owner, bool bad_group, const std::string& target,
                      bool recursive) {
  std::string r = recursive ? "-R " : "";
  if (bad_owner && bad_group)
    return "chown " + r + e.owner_text + ":" + e.group_text + " " + target;
  if (bad_owner) return "chown " + r + e.owner_text + " " + target;
  if (bad_group) return "chgrp " + r + e.group_text + " " + target;
  return {};
}

// A directory's descendants against max_mode, owner and group.
struct Beneath {
  size_t seen = 0, violations = 0, unreadable = 0;
  mode_t file_excess = 0, dir_excess = 0;
  bool owner_bad = false, group_bad = false;
  json listed = json::array();
};

// A directory may be searchable wherever it is readable (as chmod's X does).
mode_t allowed_for(mode_t max, mode_t type) {
  return S_ISDIR(type) ? max | ((max & 0444) >> 2) : max;
}

// Walks the tree under the directory open on `dir` without following links (each subdirectory
// opened O_NOFOLLOW relative to its parent: support::walk_tree). Links are not judged: their
// own mode means nothing.
Beneath check_beneath(int dir, const std::string& path, const Expected& e, size_t max_items,
                      sdk::Context& ctx) {
  Beneath b;
  auto visit = [&](const support::WalkEntry& w) {
    ++b.seen;
    const struct stat& est = w.st;
    if (S_ISLNK(est.st_mode)) return false;
    std::vector<std::string> what;
    mode_t m = est.st_mode & 07777;
    if (e.max_mode) {
      if (mode_t excess = m & ~allowed_for(*e.max_mode, est.st_mode)) {
        what.push_back("mode " + mode_string(m) + " grants " + symbolic_bits(excess, '+'));
        (S_ISDIR(est.st_mode) ? b.dir_excess : b.file_excess) |= excess;
      }
    }
    if (e.uid && est.st_uid != *e.uid) {
      what.push_back("owner " + user_name(est.st_uid));
      b.owner_bad = true;
    }
    if (e.gid && est.st_gid != *e.gid) {
      what.push_back("group " + group_name(est.st_gid));
      b.group_bad = true;
    }
    if (!what.empty() && ++b.violations <= max_items)
      b.listed.push_back({{"path", path + (path.ends_with('/') ? "" : "/") + w.relative},
                          {"mode", mode_string(m)},
                          {"owner", user_name(est.st_uid)},
                          {"group", group_name(est.st_gid)},
                          {"problems", what}});
    return true;
  };
  size_t polled = 0;
  auto cancelled = [&] { return ++polled % 1024 == 0 && ctx.cancelled(); };
  int err = support::walk_tree(dir, visit, cancelled);
  if (err == ECANCELED) throw sdk::CheckError("cancelled");
  if (err) ++b.unreadable;
  return b;
}

// The path is missing, a link that was not followed, or could not be looked at.
void report_unusable(const Inspected& in, json& details, sdk::Context& ctx) {
  const std::string& path = in.path;
  const auto& f = in.found;
  if (in.is_link()) {
    details.update(stat_details(f.st));
    details["symlink_target"] = f.link_target;
    details["symlink_made_by"] = in.untrusted_link;
    ctx.fail(link_not_followed(in) + ", so the permissions of what it leads to were not checked",
             link_advice(in.resolved, f.link_target, "the path to check", in.untrusted_link),
             details);
  } else if (f.refusal == support::Refusal::missing) {
    details["error"] = refusal_text(f);
    details["nearest_existing_parent"] = nearest_existing_ancestor(path);
    ctx.fail(path + " does not exist, so its permissions cannot be right",
             "Create " + shell_quote(path) +
                 " (or correct the path in the checklist); a files.exists check on it, listed "
                 "in this check's needs, reports a missing path on its own.",
             details);
  } else if (f.refusal == support::Refusal::untrusted_link) {
    details["untrusted_link"] = f.where;
    details["symlink_target"] = f.link_target;
    ctx.fail(f.message + "; so the permissions of " + path + " were not checked",
             link_advice(f.where, f.link_target, "the path to check"), details);
  } else {
    details["error"] = refusal_text(f);
    ctx.report(sdk::Status::error, "cannot stat " + path + ": " + refusal_text(f),
               "Run backup-doctor as root so it can look at " + shell_quote(path) + ".", details);
  }
}

// The parameters, checked.
struct Options {
  std::string path;
  Expected e;
  bool recursive = false, follow = true;
  size_t max_items = 20;
};

// Rejects combinations that no path could satisfy.
void check_consistent(const Expected& e) {
  if (e.executable && e.mode && !(*e.mode & S_IXUSR))
    throw sdk::CheckError("'executable' is true but 'mode' " + mode_string(*e.mode) +
                          " has no execute bit for the owner");
  if (e.executable && e.max_mode && !(*e.max_mode & S_IXUSR))
    throw sdk::CheckError("'executable' is true but 'max_mode' " + mode_string(*e.max_mode) +
                          " forbids the owner's execute bit");
  if (e.mode && e.max_mode && (*e.mode & ~*e.max_mode))
    throw sdk::CheckError("'mode' " + mode_string(*e.mode) +
                          " is more permissive than 'max_mode' " + mode_string(*e.max_mode));
}

// An owner or group that does not exist is a problem to report, not a parameter error.
void lookup_owner_and_group(const json& params, Expected& e) {
  if (params.contains("owner")) {
    e.owner_text = required_string(params, "owner");
    if (auto u = support::lookup_user(e.owner_text))
      e.uid = u->uid;
    else
      e.owner_missing = true;
  }
  if (params.contains("group")) {
    e.group_text = required_string(params, "group");
    if (auto g = lookup_group(e.group_text))
      e.gid = *g;
    else
      e.group_missing = true;
  }
}

Options parse_options(const json& params) {
  Options o;
  o.path = required_string(params, "path");
  Expected& e = o.e;
  e.mode = mode_param(params, "mode");
  e.max_mode = mode_param(params, "max_mode");
  e.executable = params.value("executable", false);
  o.recursive = params.value("recursive", false);
  o.follow = params.value("follow_symlinks", true);
  o.max_items = params.value("max_items", 20);
  check_consistent(e);
  lookup_owner_and_group(params, e);
  if (!e.mode && !e.max_mode && !e.executable && e.owner_text.empty() && e.group_text.empty())
    throw sdk::CheckError(
        "nothing to check: set at least one of mode, max_mode, owner, group, executable");
  return o;
}

json expected_details(const Expected& e) {
  json expected = json::object();
  if (e.mode) expected["mode"] = mode_string(*e.mode);
  if (e.max_mode) expected["max_mode"] = mode_string(*e.max_mode);
  if (!e.owner_text.empty()) expected["owner"] = e.owner_text;
  if (!e.group_text.empty()) expected["group"] = e.group_text;
  if (e.executable) expected["executable"] = true;
  return expected;
}

// What is wrong, and the commands that fix it.
struct Problems {
  std::vector<std::string> problems, fixes;
  std::vector<std::string> setup_fixes;  // accounts to create first
};

void add_missing_accounts(const Expected& e, Problems& p) {
  if (e.owner_missing) {
    p.problems.push_back("the required owner '" + e.owner_text + "' does not exist on this host");
    p.setup_fixes.push_back("useradd --system --no-create-home --shell /usr/sbin/nologin " +
                            e.owner_text);
  }
  if (e.group_missing) {
    p.problems.push_back("the required group '" + e.group_text + "' does not exist on this host");
    p.setup_fixes.push_back("groupadd --system " + e.group_text);
  }
}

// A script that must run: a regular file with the owner's x bit and a working #! line. Adds x
// to `target` (the mode to chmod to) when it is missing and no exact mode is required.
void add_executable_problems(const Inspected& in, const std::string& path, const Expected& e,
                             mode_t& target, json& details, Problems& p) {
  const struct stat& st = in.found.st;
  const mode_t current = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode)) {
    p.problems.push_back("it is a " + type_name(st.st_mode) + ", not a runnable file");
    return;
  }
  if (!(current & S_IXUSR)) {
    p.problems.push_back("it is not executable (mode " + mode_string(current) +
                         " has no execute bit for its owner " + user_name(st.st_uid) + ")");
    // x wherever r is, as for any program.
    if (!e.mode) target |= S_IXUSR | ((current & 0044) >> 2);
  }
  std::string fix;
  std::string bad = shebang_problem(in, path, fix);
  details["interpreter_ok"] = bad.empty();
  if (!bad.empty()) {
    p.problems.push_back(bad);
    p.fixes.push_back(fix);
  }
}

// The path's own mode against mode, max_mode and executable; the chmod that fixes it leads the
// fixes.
void add_mode_problems(const Inspected& in, const std::string& path, const Expected& e,
                       json& details, Problems& p) {
  const struct stat& st = in.found.st;
  const mode_t current = st.st_mode & 07777;
  const mode_t top_allowed = e.max_mode ? allowed_for(*e.max_mode, st.st_mode) : 07777;
  mode_t target = current;
  if (e.mode && current != *e.mode) {
    p.problems.push_back("mode is " + mode_string(current) + ", expected " + mode_string(*e.mode));
    target = *e.mode;
  } else if (!e.mode && (current & ~top_allowed)) {
    p.problems.push_back("mode " + mode_string(current) + " grants " +
                         symbolic_bits(current & ~top_allowed, '+') + " beyond the allowed " +
                         mode_string(top_allowed));
    target &= top_allowed;
  }
  if (e.executable) add_executable_problems(in, path, e, target, details, p);
  if (e.max_mode) target &= (top_allowed | (e.mode ? *e.mode : 0));
  if (target != current)
    p.fixes.insert(p.fixes.begin(), "chmod " + mode_string(target) + " " + shell_quote(path));
}

// Whether the path's own owner and group are wrong.
struct Ownership {
  bool owner_bad = false, group_bad = false;
};

Ownership add_ownership_problems(const struct stat& st, const Expected& e, Problems& p) {
  if (e.uid && st.st_uid != *e.uid)
    p.problems.push_back("owner is " + user_name(st.st_uid) + ", expected " + e.owner_text);
  if (e.gid && st.st_gid != *e.gid)
    p.problems.push_back("group is " + group_name(st.st_gid) + ", expected " + e.group_text);
  return {e.uid && st.st_uid != *e.uid, e.gid && st.st_gid != *e.gid};
}

// Everything beneath a directory, when recursive; an empty Beneath otherwise.
Beneath add_beneath_problems(const Inspected& in, const Options& o, json& details, Problems& p,
                             sdk::Context& ctx) {
  if (!(o.recursive && S_ISDIR(in.found.st.st_mode))) return {};
  const std::string q = shell_quote(o.path);
  Beneath b = check_beneath(in.found.fd.get(), o.path, o.e, o.max_items, ctx);
  details["entries_checked"] = b.seen;
  details["violations_beneath"] = b.violations;
  details["violating_entries"] = b.listed;
  if (b.unreadable) details["unreadable_entries"] = b.unreadable;
  if (b.violations) {
    p.problems.push_back(std::to_string(b.violations) + " entr" +
                         (b.violations == 1 ? "y" : "ies") +
                         " beneath it with too-open permissions or the wrong owner/group (first: " +
                         b.listed[0]["path"].get<std::string>() + ")");
    if (b.file_excess)
      p.fixes.push_back("find " + q + " -mindepth 1 -type f -perm /" + mode_string(b.file_excess) +
                        " -exec chmod " + symbolic_bits(b.file_excess, '-') + " {} +");
    if (b.dir_excess)
      p.fixes.push_back("find " + q + " -mindepth 1 -type d -perm /" + mode_string(b.dir_excess) +
                        " -exec chmod " + symbolic_bits(b.dir_excess, '-') + " {} +");
  }
  return b;
}

// One chown for the path, or chown -R when entries beneath are wrong too.
void add_owner_fix(const Expected& e, const Ownership& top, const Beneath& b,
                   const std::string& path, Problems& p) {
  const bool beneath_bad = b.owner_bad || b.group_bad;
  if (std::string f = owner_fix(e, e.owner_missing || top.owner_bad || b.owner_bad,
                                e.group_missing || top.group_bad || b.group_bad, shell_quote(path),
                                beneath_bad);
      !f.empty())
    p.fixes.push_back(f);
}

void report_within_bounds(const Options& o, const struct stat& st, const json& details,
                          sdk::Context& ctx) {
  std::string what =
      mode_string(st.st_mode & 07777) + " " + user_name(st.st_uid) + ":" + group_name(st.st_gid);
  if (o.recursive && S_ISDIR(st.st_mode)) what += ", and every entry beneath it is within bounds";
  ctx.ok(o.path + " has the expected permissions (" + what + ")", details);
}

// Every problem in the summary; every fix, accounts first, chained in one command.
void report_problems(const Options& o, const struct stat& st, Problems& p, json& details,
                     sdk::Context& ctx) {
  p.fixes.insert(p.fixes.begin(), p.setup_fixes.begin(), p.setup_fixes.end());
  std::string summary = o.path + ": " + p.problems[0];
  for (size_t i = 1; i < p.problems.size(); ++i) summary += "; " + p.problems[i];
  std::string remediation = "Run: ";
  for (size_t i = 0; i < p.fixes.size(); ++i) remediation += (i ? " && " : "") + p.fixes[i];
  remediation += ".";
  if (o.e.executable && !(st.st_mode & S_IXUSR))
    remediation +=
        " A backup script without its execute bit makes cron or the systemd timer fail "
        "with 'Permission denied' before the script even starts.";
  details["remediation_commands"] = p.fixes;
  ctx.fail(summary, remediation, details);
}

void run(const json& params, sdk::Context& ctx) {
  const Options o = parse_options(params);
  const Expected& e = o.e;
  json details = {{"path", o.path}};
  const Inspected in = inspect(o.path, o.follow);
  if (!in || (in.is_link() && o.follow)) {
    report_unusable(in, details, ctx);
    return;
  }
  const struct stat& st = in.found.st;
  if (in.resolved != o.path) details["resolved_path"] = in.resolved;
  details.update(stat_details(st));
  details["expected"] = expected_details(e);

  Problems p;
  add_missing_accounts(e, p);
  add_mode_problems(in, o.path, e, details, p);
  const Ownership top = add_ownership_problems(st, e, p);
  const size_t top_problems = p.problems.size();
  const Beneath b = add_beneath_problems(in, o, details, p, ctx);
  add_owner_fix(e, top, b, o.path, p);
  ctx.metric("mode_violations", static_cast<double>(top_problems + b.violations), "count",
             {{"path", o.path}});

  details["problems"] = p.problems;
  if (p.problems.empty()) {
    report_within_bounds(o, st, details, ctx);
    return;
  }
  report_problems(o, st, p, details, ctx);
}

}  // namespace

sdk::CheckType mode_check() {
  return {
      .type = "files.mode",
      .summary = "Permission bits, owner and group of a path (and of what is beneath it)",
      .doc =
          "Compares the mode, owner and group of `path` with what is expected: an exact `mode`, "
          "a most-permissive `max_mode` (backups holding customer data should not be readable "
          "by everyone), an `owner` and `group`, and with `executable` that a backup script "
          "can really be run (execute bit, existing `#!` interpreter, no CRLF line ending). "
          "With `recursive`, `max_mode`, `owner` and `group` also apply to every entry beneath "
          "a directory. The remediation gives the exact chmod/chown/find commands. Metric: "
          "`mode_violations` (count).\n\n"
          "Links another account could have made are not followed (see `follow_symlinks`), the "
          "tree is walked without following links, and a script's first line is read only "
          "when it is a regular file (never a FIFO, a device or a link); the interpreter it "
          "names is looked up, never run.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::files
