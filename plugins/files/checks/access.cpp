// files.access: can a named user (the account the backup job runs as) read, write or execute a
// path? Answered by really trying as that user in a child process, then explained: which
// directory on the way blocks it, or which bits, ACL or policy deny it, and the command to fix it.
#include <backup_doctor/params.hpp>
#include <backup_doctor/support/user_access.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "file_facts.hpp"
#include "inspect.hpp"

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::errno_text;
using sdk::group_name;
using sdk::required_string;
using sdk::shell_quote;
using sdk::string_list;
using sdk::user_name;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "user"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
             "description": "File or directory to test."},
    "user": {"type": "string", "minLength": 1,
             "description": "Account to test as, by name or uid: usually the one the backup job runs as. Testing as another user needs backup-doctor to run as root."},
    "access": {"type": "array", "minItems": 1, "uniqueItems": true,
               "items": {"type": "string", "enum": ["read", "write", "execute"]},
               "default": ["read"],
               "description": "What the user must be able to do. read: open the file or list the directory; write: modify the file, or create entries in the directory (needs write and search); execute: run the file, or enter the directory. Default: [\"read\"]."},
    "expect": {"type": "string", "enum": ["allowed", "denied"], "default": "allowed",
               "description": "allowed: the user must have the access; denied: the user must NOT have it (e.g. nobody must not read database dumps). Default: allowed."}
  }
})";

using support::Access;

char letter(Access a) {
  return a == Access::read ? 'r' : a == Access::write ? 'w' : 'x';
}
const char* verb(Access a) {
  return a == Access::read ? "read" : a == Access::write ? "write" : "execute";
}

// The permission bits (0-7 in rwx order) that apply to this user on this inode.
struct Applies {
  char who;  // 'u', 'g' or 'o'
  mode_t bits;
};
Applies applying_bits(const support::UserIds& user, const std::vector<gid_t>& groups,
                      const struct stat& st) {
  if (st.st_uid == user.uid) return {'u', (st.st_mode >> 6) & 7};
  if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end())
    return {'g', (st.st_mode >> 3) & 7};
  return {'o', st.st_mode & 7};
}
mode_t bit_of(char l) {
  return l == 'r' ? 4 : l == 'w' ? 2 : 1;
}

std::string describe_inode(const std::string& path, const struct stat& st) {
  return path + " (" + mode_symbolic(st.st_mode) + " " + user_name(st.st_uid) + ":" +
         group_name(st.st_gid) + ")";
}

// Commands that would give `user` the permissions in `letters` on `path`.
std::string grant_fix(const support::UserIds& user, const std::vector<gid_t>& groups,
                      const struct stat& st, const std::string& path, const std::string& letters,
                      int denied_errno, bool on_the_way) {
  const std::string q = shell_quote(path);
  Applies a = applying_bits(user, groups, st);
  bool bits_allow = true;
  for (char l : letters) bits_allow &= (a.bits & bit_of(l)) != 0;
  if (denied_errno == EROFS)
    return "The filesystem holding " + q + " is mounted read-only (findmnt -T " + q +
           "): remount it read-write (mount -o remount,rw <mountpoint>) and find out why it "
           "went read-only (dmesg; a filesystem error often does that).";
  if (bits_allow)
    return "The permission bits already allow it, so something else denies it: an ACL "
           "(getfacl " +
           q + "; remove the entry with setfacl -x u:" + user.name + " " + q +
           "), an immutable attribute (lsattr -d " + q +
           "), or a SELinux/AppArmor policy "
           "(ausearch -m avc -ts recent | grep " +
           user.name + "; journalctl -k | grep -i apparmor).";
  if (a.who == 'u') return "Run: chmod u+" + letters + " " + q + ".";
  if (a.who == 'g') return "Run: chmod g+" + letters + " " + q + ".";
  std::string grp = group_name(st.st_gid);
  std::string out = "'" + user.name + "' is neither the owner (" + user_name(st.st_uid) +
                    ") nor in the group (" + grp + ") of " + q +
                    ". Give it an ACL entry: setfacl -m u:" + user.name + ":" + letters + " " + q;
  // Joining root's group or taking over a system directory would grant far more than this.
  if (st.st_gid != 0)
    out += "; or add it to the group and open the group bits: usermod -aG " + grp + " " +
           user.name + " && chmod g+" + letters + " " + q;
  if (on_the_way)
    out +=
        "; or let everyone pass through (a directory's x bit lets others enter, not list): "
        "chmod o+x " +
        q;
  else
    out += "; or, if the backup account should own it: chown " + user.name + " " + q;
  return out + ".";
}

std::string revoke_fix(const support::UserIds& user, const std::vector<gid_t>& groups,
                       const struct stat& st, const std::string& path, const std::string& letters) {
  const std::string q = shell_quote(path);
  if (user.uid == 0)
    return "'" + user.name +
           "' is root, which bypasses permission bits: nothing short of "
           "encryption keeps root out.";
  Applies a = applying_bits(user, groups, st);
  bool bits_grant = false;
  for (char l : letters) bits_grant |= (a.bits & bit_of(l)) != 0;
  if (!bits_grant)
    return "The permission bits do not grant it, so an ACL does: review getfacl " + q +
           " and remove it with setfacl -x u:" + user.name + " " + q + " (or the group entry).";
  if (a.who == 'u')
    return "'" + user.name + "' owns " + q + ": give it to the right account (chown <owner> " + q +
           ") and then chmod u-" + letters + " if needed.";
  if (a.who == 'g')
    return "'" + user.name + "' gets it through the group " + group_name(st.st_gid) +
           ": run chmod g-" + letters + " " + q + ", or chgrp " + q +
           " to a group this account is not in.";
  return "Everyone gets it through the permission bits for others: run chmod o-" + letters + " " +
         q + ".";
}

void report_not_found(const Inspected& in, const support::UserIds& user, json& details,
                      sdk::Context& ctx) {
  const std::string& path = in.path;
  const auto& f = in.found;
  details["error"] = refusal_text(f);
  if (f.refusal == support::Refusal::missing) {
    details["nearest_existing_parent"] = nearest_existing_ancestor(path);
    ctx.fail(path + " does not exist, so " + user.name + " cannot use it",
             "Create " + shell_quote(path) + " (or correct the path), then give " + user.name +
                 " the access it needs.",
             details);
  } else if (f.refusal == support::Refusal::untrusted_link) {
    details["untrusted_link"] = f.where;
    details["symlink_target"] = f.link_target;
    ctx.fail(f.message + "; so access to " + path + " was not tested",
             link_advice(f.where, f.link_target, "the path to test"), details);
  } else {
    ctx.report(sdk::Status::error, "cannot stat " + path + ": " + refusal_text(f),
               "Run backup-doctor as root so it can look at " + shell_quote(path) + ".", details);
  }
}

// The access was tried as the user through a link another account could have made: the result
// stands, but root does not look at what the link leads to, so no chmod can be suggested.
void report_through_link(const Inspected& in, const support::UserIds& user, const std::string& what,
                         bool want_allowed, const std::string& reason, json& details,
                         sdk::Context& ctx) {
  const std::string& target = in.found.link_target;
  std::string summary = user.name + (want_allowed ? " cannot " : " can ") + what + " " + in.path +
                        (want_allowed ? ": " + reason : " but must not") + "; " +
                        link_not_followed(in) + " by backup-doctor";
  std::string remediation =
      in.path + " is a link, so what " + user.name + " gets is decided by " + target +
      " and the directories leading to it, which backup-doctor does not look at through a "
      "link another account could have made. Run this check on " +
      shell_quote(target) + " itself to see what to change. " +
      link_advice(in.resolved, target, "that file", in.untrusted_link);
  ctx.fail(summary, remediation, details);
}

// The parameters, checked.
struct AccessRequest {
  std::string path, user_text, expect;
  std::vector<Access> wanted;
  bool want_allowed = true;
};

AccessRequest parse_request(const json& params) {
  AccessRequest r;
  r.path = required_string(params, "path");
  r.user_text = required_string(params, "user");
  r.expect = params.value("expect", std::string("allowed"));
  if (r.expect != "allowed" && r.expect != "denied")
    throw sdk::CheckError("parameter 'expect' must be allowed or denied");
  for (const auto& a : string_list(params, "access", {"read"})) {
    if (a == "read")
      r.wanted.push_back(Access::read);
    else if (a == "write")
      r.wanted.push_back(Access::write);
    else if (a == "execute")
      r.wanted.push_back(Access::execute);
    else
      throw sdk::CheckError("parameter 'access': '" + a + "' is not read, write or execute");
  }
  if (r.wanted.empty()) throw sdk::CheckError("parameter 'access' is empty");
  r.want_allowed = r.expect == "allowed";
  return r;
}

void report_unknown_user(const std::string& user_text, const json& details, sdk::Context& ctx) {
  ctx.fail("user '" + user_text + "' does not exist on this host",
           "The backup job cannot run as an account that does not exist. Create it (useradd "
           "--system --no-create-home --shell /usr/sbin/nologin " +
               user_text + ") or correct the user name in the job and in this checklist.",
           details);
}

void add_user_details(const support::UserIds& user, const std::vector<gid_t>& groups,
                      json& details) {
  details["uid"] = user.uid;
  details["gid"] = user.gid;
  json group_names = json::array();
  for (gid_t g : groups) group_names.push_back(group_name(g));
  details["groups"] = group_names;
}

void add_path_details(const Inspected& in, const std::string& path, json& details) {
  if (in.resolved != path) details["resolved_path"] = in.resolved;
  if (in.is_link()) {
    details["symlink_target"] = in.found.link_target;
    details["symlink_made_by"] = in.untrusted_link;
  }
  details.update(stat_details(in.found.st));
}

// What trying each wanted access as the user gave.
struct Tried {
  json results = json::object();
  std::string granted, refused;  // letters
  std::string first_reason;      // why the first refused access was refused
  int first_errno_reason = 0;    // EROFS or EACCES when first_reason is one of them
};

void report_untestable(const std::string& path, const support::UserIds& user,
                       const std::string& reason, json& details, sdk::Context& ctx) {
  details["error"] = reason;
  ctx.report(sdk::Status::error,
             "cannot test access to " + path + " as " + user.name + ": " + reason,
             "Run backup-doctor as root: it switches to '" + user.name +
                 "' in a child process to try the access for real. Or run it as '" + user.name +
                 "' itself.",
             details);
}

// Tries every wanted access as the user. Returns nullopt, after reporting an error, when one
// could not be tested at all.
std::optional<Tried> try_accesses(const AccessRequest& req, const support::UserIds& user,
                                  bool is_dir, json& details, sdk::Context& ctx) {
  Tried t;
  for (Access a : req.wanted) {
    auto answer = support::test_access_as(user, req.path, a);
    if (!answer.tested) {
      report_untestable(req.path, user, answer.reason, details, ctx);
      return std::nullopt;
    }
    // Creating entries in a directory needs search permission as well as write.
    if (a == Access::write && is_dir && answer.allowed) {
      auto search = support::test_access_as(user, req.path, Access::execute);
      if (search.tested && !search.allowed) answer = search;
    }
    t.results[verb(a)] = {{"allowed", answer.allowed}, {"reason", answer.reason}};
    if (answer.allowed) {
      t.granted += letter(a);
    } else {
      t.refused += letter(a);
      if (t.first_reason.empty()) t.first_reason = answer.reason;
    }
  }
  details["results"] = t.results;
  if (!t.first_reason.empty()) {
    // test_access_as hands back strerror text; map the two that change the advice.
    if (t.first_reason == errno_text(EROFS))
      t.first_errno_reason = EROFS;
    else if (t.first_reason == errno_text(EACCES))
      t.first_errno_reason = EACCES;
  }
  return t;
}

// "read, write or execute" for the letters "rwx".
std::string verbs(const std::string& letters, const char* conj = " or ") {
  std::string out;
  for (size_t i = 0; i < letters.size(); ++i) {
    Access a = letters[i] == 'r'   ? Access::read
               : letters[i] == 'w' ? Access::write
                                   : Access::execute;
    out += (i == 0 ? "" : i + 1 == letters.size() ? conj : ", ") + std::string(verb(a));
  }
  return out;
}

// For directories, write also needs x: the letters to grant.
std::string grant_letters(std::string letters, bool is_dir) {
  if (is_dir && letters.find('w') != std::string::npos && letters.find('x') == std::string::npos)
    letters += 'x';
  return letters;
}

// The directories leading to `path`, from the root down.
std::vector<std::filesystem::path> ancestors_of(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path absolute = fs::absolute(path).lexically_normal();
  std::vector<fs::path> ancestors;
  for (fs::path p = absolute.parent_path(); !p.empty(); p = p.parent_path()) {
    ancestors.push_back(p);
    if (p == p.root_path()) break;
  }
  std::reverse(ancestors.begin(), ancestors.end());
  return ancestors;
}

// Access is denied: when a directory on the way is what blocks it, reports that and returns true.
bool report_blocked_on_the_way(const std::string& path, const support::UserIds& user,
                               const std::vector<gid_t>& groups, const Tried& t, json& details,
                               sdk::Context& ctx) {
  for (const auto& dir : ancestors_of(path)) {
    auto answer = support::test_access_as(user, dir.string(), Access::execute);
    if (!answer.tested || answer.allowed) continue;
    const Inspected on_the_way = inspect(dir.string(), true);
    if (!on_the_way || on_the_way.is_link()) continue;
    const struct stat& dst = on_the_way.found.st;
    details["blocked_at"] = stat_details(dst);
    details["blocked_at"]["path"] = dir.string();
    ctx.fail(user.name + " cannot " + verbs(t.refused) + " " + path + ": it cannot enter " +
                 describe_inode(dir.string(), dst),
             "Every directory leading to " + shell_quote(path) +
                 " needs search (x) permission "
                 "for " +
                 user.name + ", and " + dir.string() + " denies it. " +
                 grant_fix(user, groups, dst, dir.string(), "x", EACCES, true),
             details);
    return true;
  }
  return false;
}

// Phrases the result once every access has been tried.
void report_result(const AccessRequest& req, const Inspected& in, const support::UserIds& user,
                   const std::vector<gid_t>& groups, const Tried& t, json& details,
                   sdk::Context& ctx) {
  const std::string& path = req.path;
  const bool want_allowed = req.want_allowed;
  const struct stat& st = in.found.st;
  if (in.is_link() &&
      ((want_allowed && !t.refused.empty()) || (!want_allowed && !t.granted.empty()))) {
    report_through_link(in, user, want_allowed ? verbs(t.refused) : verbs(t.granted, " and "),
                        want_allowed, t.first_reason, details, ctx);
    return;
  }
  if (want_allowed && t.refused.empty()) {
    ctx.ok(user.name + " can " + verbs(t.granted, " and ") + " " + path, details);
    return;
  }
  if (!want_allowed && t.granted.empty()) {
    ctx.ok(user.name + " cannot " + verbs(t.refused) + " " + path + ", as expected", details);
    return;
  }
  if (!want_allowed) {
    ctx.fail(user.name + " can " + verbs(t.granted, " and ") + " " + path + " but must not",
             revoke_fix(user, groups, st, path, t.granted), details);
    return;
  }
  // Denied: is it a directory on the way, or the path itself?
  if (report_blocked_on_the_way(path, user, groups, t, details, ctx)) return;
  ctx.fail(user.name + " cannot " + verbs(t.refused) + " " + describe_inode(path, st) + ": " +
               t.first_reason,
           grant_fix(user, groups, st, path, grant_letters(t.refused, S_ISDIR(st.st_mode)),
                     t.first_errno_reason, false),
           details);
}

void run(const json& params, sdk::Context& ctx) {
  const AccessRequest req = parse_request(params);
  json details = {{"path", req.path}, {"user", req.user_text}, {"expect", req.expect}};
  auto user = support::lookup_user(req.user_text);
  if (!user) {
    report_unknown_user(req.user_text, details, ctx);
    return;
  }
  const auto groups = user_groups(user->name, user->gid);
  add_user_details(*user, groups, details);

  // Root's own look at the path (for the explanation) follows no link another account could
  // have made; the access itself is tried as the user, who gets whatever a link leads to.
  const Inspected in = inspect(req.path, true);
  if (!in) {
    report_not_found(in, *user, details, ctx);
    return;
  }
  add_path_details(in, req.path, details);
  auto tried = try_accesses(req, *user, S_ISDIR(in.found.st.st_mode), details, ctx);
  if (!tried) return;
  report_result(req, in, *user, groups, *tried, details, ctx);
}

}  // namespace

sdk::CheckType access_check() {
  return {.type = "files.access",
          .summary = "A named user can (or cannot) read, write or execute a path",
          .doc =
              "Tests the access for real as `user` in a child process (supplementary groups, gid "
              "and uid switched), because the runner usually runs as root, for whom every access "
              "check succeeds. When access is denied it finds the directory on the way that blocks "
              "it, or explains whether the permission bits, an ACL, a read-only mount or a "
              "SELinux/AppArmor policy is the cause, and gives the chmod/setfacl/usermod command "
              "that grants it. With `expect: denied` it checks the opposite, e.g. that `nobody` "
              "cannot read the database dumps. Testing as another user needs root; otherwise the "
              "result is an error saying so.\n\n"
              "The access is tried as the user (who follows links with its own rights); root's "
              "own look at the path, to explain a result, follows no link another account could "
              "have made: through such a link the result is given without an explanation, naming "
              "the link and its target.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::files
