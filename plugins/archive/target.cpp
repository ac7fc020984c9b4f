#include "target.hpp"

#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>

#include <fnmatch.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace backup_doctor::archive {

using sdk::shell_quote;

namespace {

constexpr size_t kMaxListed = 10;
constexpr int kMaxLinkHops = 40;

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string owner_name(uid_t uid) {
  return sdk::find_user_name(uid).value_or("uid " + std::to_string(uid));
}

bool newer(const struct stat& a, const struct timespec& b) {
  return a.st_mtim.tv_sec != b.tv_sec ? a.st_mtim.tv_sec > b.tv_sec : a.st_mtim.tv_nsec > b.tv_nsec;
}

bool excluded(const TargetSpec& spec, const std::string& pattern, const std::string& name) {
  for (const auto& x : spec.exclude)
    if (::fnmatch(x.c_str(), name.c_str(), 0) == 0 && ::fnmatch(x.c_str(), pattern.c_str(), 0) != 0)
      return true;
  return false;
}

std::string read_link_at(int dir, const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// The newest regular file in the directory open on `dir` whose name matches: picked from lstat
// facts (a link is never a candidate, whatever it points to), then opened relative to `dir`.
void choose_newest(const TargetSpec& spec, int dir, Target& t) {
  std::vector<support::DirEntry> entries;
  if (int err = support::list_directory(dir, entries); err != 0) {
    t.error = t.directory + ": " + sdk::errno_text(err);
    return;
  }
  const std::string prefix = t.directory == "/" ? "/" : t.directory + "/";
  const support::DirEntry* best = nullptr;
  for (const auto& e : entries) {
    if (::fnmatch(t.pattern.c_str(), e.name.c_str(), 0) != 0 || excluded(spec, t.pattern, e.name))
      continue;
    if (S_ISDIR(e.st.st_mode)) continue;
    if (!S_ISREG(e.st.st_mode)) {
      NotConsidered n{prefix + e.name, support::file_type_word(e.st.st_mode), "", e.st.st_mtime};
      if (S_ISLNK(e.st.st_mode)) n.link_target = read_link_at(dir, e.name);
      if (t.not_considered.size() < kMaxListed) t.not_considered.push_back(n);
      continue;
    }
    ++t.candidates;
    if (!best || newer(e.st, best->st.st_mtim) ||
        (e.st.st_mtim.tv_sec == best->st.st_mtim.tv_sec &&
         e.st.st_mtim.tv_nsec == best->st.st_mtim.tv_nsec && e.name > best->name))
      best = &e;
  }
  if (!best) {
    t.error = "no regular file matching '" + t.pattern + "' in " + t.directory;
    if (!t.not_considered.empty())
      t.error += " (" + t.not_considered.front().path + " is a " + t.not_considered.front().type +
                 (t.not_considered.front().link_target.empty()
                      ? std::string()
                      : " to " + t.not_considered.front().link_target) +
                 ", not considered)";
    return;
  }
  t.path = prefix + best->name;
  t.file = support::open_untrusted_at(dir, t.directory, best->name, support::Expect::regular);
  for (const auto& e : entries) {
    if (S_ISREG(e.st.st_mode) || S_ISDIR(e.st.st_mode) || S_ISLNK(e.st.st_mode)) continue;
    if (::fnmatch(t.pattern.c_str(), e.name.c_str(), 0) != 0 || excluded(spec, t.pattern, e.name))
      continue;
    if (!newer(e.st, best->st.st_mtim)) continue;
    if (!t.newer_odd_entry || e.st.st_mtime > t.newer_odd_entry->mtime)
      t.newer_odd_entry =
          NotConsidered{prefix + e.name, support::file_type_word(e.st.st_mode), "", e.st.st_mtime};
  }
}

}  // namespace

TargetSpec target_spec(const nlohmann::json& params) {
  TargetSpec spec;
  spec.path = params.at("path").get<std::string>();
  spec.pattern = params.value("pattern", std::string("*"));
  return spec;
}

support::SafeOpened open_named_directory(const std::string& path) {
  std::string current = path;
  for (int hop = 0;; ++hop) {
    auto dir = support::open_untrusted(current, support::Expect::directory);
    if (dir.refusal != support::Refusal::symlink || hop >= kMaxLinkHops) return dir;
    std::string parent_path = parent_of(current);
    auto parent = support::open_untrusted(parent_path, support::Expect::any);
    if (!parent || !support::trusted_owner(dir.st.st_uid) ||
        !support::untrusted_writer(parent.st).empty() || dir.link_target.empty())
      return dir;
    const std::string& target = dir.link_target;
    current = target[0] == '/' ? target : (parent_path == "/" ? "/" : parent_path + "/") + target;
  }
}

Target resolve_target(const TargetSpec& spec) {
  Target t;
  std::string dir = spec.path;
  std::string pattern = spec.pattern.empty() ? "*" : spec.pattern;
  auto file = support::open_untrusted(spec.path, support::Expect::regular);
  if (file) {
    t.path = spec.path;
    t.file = std::move(file);
    return t;
  }
  bool is_dir = file.refusal == support::Refusal::wrong_type && S_ISDIR(file.st.st_mode);
  // A link to the backup directory is followed when root made it where only root can change it.
  if (file.refusal == support::Refusal::symlink && open_named_directory(spec.path)) is_dir = true;
  if (file.refusal == support::Refusal::missing) {
    size_t slash = spec.path.find_last_of('/');
    std::string last = slash == std::string::npos ? spec.path : spec.path.substr(slash + 1);
    if (!sdk::has_glob(last)) {
      t.missing = true;
      t.error = spec.path + ": " + sdk::errno_text(file.error);
      return t;
    }
    dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : spec.path.substr(0, slash));
    pattern = last;
  } else if (!is_dir) {
    // A link, a FIFO, a device, a hard link, or a link on the way: named, never opened.
    t.path = spec.path;
    t.file = std::move(file);
    return t;
  }
  t.directory = dir;
  t.pattern = pattern;
  auto d = open_named_directory(dir);
  if (!d) {
    t.missing = d.refusal == support::Refusal::missing;
    t.error = d.message.empty() ? dir + ": " + sdk::errno_text(d.error) : d.message;
    return t;
  }
  choose_newest(spec, d.fd.get(), t);
  return t;
}

std::string refusal_advice(const support::SafeOpened& refused, const std::string& path,
                           const std::string& what) {
  const std::string q = shell_quote(path);
  const std::string dir = shell_quote(parent_of(path));
  switch (refused.refusal) {
    case support::Refusal::symlink:
      return "backup-doctor runs as root and does not follow a link in a backup directory: "
             "another account could point it at any file on this host. If " +
             q + " is meant to lead to " + what +
             " (a `latest` link), point the check at the "
             "directory (`pattern` picks the newest real file) or at " +
             shell_quote(refused.link_target) +
             " itself. If nobody made it on purpose, find out how it got there (ls -l " + dir +
             ") and remove it.";
    case support::Refusal::untrusted_link:
      return "A directory on the way (" + refused.where +
             ") is a link that another account could have made, so what lies behind it was "
             "not opened. Point the check at the real location (" +
             shell_quote(refused.link_target) + "), or have root own the link.";
    case support::Refusal::wrong_type:
      return std::string("A backup is a regular file; this one is a ") +
             support::file_type_word(refused.st.st_mode) + " owned by " +
             owner_name(refused.st.st_uid) +
             ", which backup-doctor never opens (reading a FIFO blocks until someone writes "
             "to it; opening a device can act on it). Find out what put it there (ls -l " +
             q + "), remove it, and check that the backup job writes " + what + " as a file.";
    case support::Refusal::hard_link:
      return "It may be a hard link to a file the directory's owner may not read (find / -xdev "
             "-samefile " +
             q + " shows its other names): replace it with " + what +
             " the job really wrote, and set fs.protected_hardlinks = 1 (sysctl) so that nobody "
             "can link to files they do not own.";
    case support::Refusal::denied:
      return "backup-doctor may not read " + q +
             ": run it as a user that can (the backup user or root), or grant read access, "
             "e.g. `setfacl -m u:<user>:r " +
             q + "`.";
    default:
      return "The file vanished or is unreadable while being checked: see whether a cleanup or "
             "rotation job removed it, and check the storage (ls -l " +
             q + ").";
  }
}

bool report_unusable(const Target& target, const std::string& none, const std::string& remediation,
                     nlohmann::json details, sdk::Context& ctx) {
  if (target.usable()) return false;
  if (target.path.empty()) {
    details["error"] = target.error;
    ctx.fail(none + ": " + target.error, remediation, details);
    return true;
  }
  const auto& f = target.file;
  details["archive"] = target.path;
  details["error"] = f.message;
  if (!f.link_target.empty()) details["symlink_target"] = f.link_target;
  if (f.refusal == support::Refusal::wrong_type)
    details["type"] = support::file_type_word(f.st.st_mode);
  sdk::Status status =
      f.refusal == support::Refusal::denied ? sdk::Status::error : sdk::Status::fail;
  ctx.report(status, f.message.empty() ? target.path + ": " + sdk::errno_text(f.error) : f.message,
             refusal_advice(f, target.path, "the archive"), details);
  return true;
}

}  // namespace backup_doctor::archive
