// resources.disk: free bytes, free percent and free inodes where backups are written, and
// whether the next backup (the newest one's size times a growth margin) still fits.
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/support/safe_open.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "figures.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <cerrno>
#include <filesystem>

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::errno_text;
using sdk::number_param;
using sdk::optional_size;
using sdk::shell_quote;
using sdk::string_param;

namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
      "description": "A directory on the filesystem that receives the backups (e.g. /opt/backups); the space figures are those of its filesystem."},
    "backup_glob": {"type": "string", "minLength": 1,
      "description": "Glob matching the existing backups (e.g. /opt/backups/database/*.sql.gz). The newest match (by mtime; a directory counts with everything in it) times growth_margin is the room the next backup needs. Optional: without it only the percentages are judged."},
    "growth_margin": {"type": "number", "minimum": 1, "default": 1.2,
      "description": "How much bigger than the newest backup the next one may be. Default 1.2 (20% growth)."},
    "warn_free_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 15,
      "description": "Warn when less than this percentage of the filesystem is free (as df counts it). Default 15."},
    "fail_free_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 5,
      "description": "Fail when less than this percentage is free. Default 5."},
    "min_free": {"$ref": "bd:size",
      "description": "Fail when fewer bytes than this are free: a number of bytes or a size such as \"20G\" (\"20GB\" and \"20GiB\" are the same: powers of 1024). Optional."},
    "warn_free_inodes_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 10,
      "description": "Warn when less than this percentage of inodes is free. Default 10. Ignored on filesystems without an inode limit (btrfs)."},
    "fail_free_inodes_percent": {"type": "number", "minimum": 0, "maximum": 100, "default": 2,
      "description": "Fail when less than this percentage of inodes is free. Default 2."},
    "max_scan_entries": {"type": "integer", "minimum": 1, "default": 200000,
      "description": "When the newest backup is a directory, stop summing its size after this many entries (the estimate is then a lower bound). Default 200000."}
  }
})";

struct Newest {
  std::string path;
  double mtime = 0;
  uint64_t size = 0;
  bool is_dir = false;
  bool partial = false;  // directory scan stopped early
  size_t matched = 0;
};

// Adds up the regular files below `dir` without following links: the directory is opened
// through the safe-open primitive and walked with each level opened O_NOFOLLOW, so a link the
// backup account planted (to a root-only tree) is counted as a link, not entered.
uint64_t directory_size(const std::string& dir, size_t max_entries, bool& partial,
                        sdk::Context& ctx) {
  auto root = support::open_untrusted(dir, support::Expect::directory);
  if (!root) {
    partial = true;
    return 0;
  }
  uint64_t total = 0;
  size_t n = 0;
  int err = support::walk_tree(
      root.fd.get(),
      [&](const support::WalkEntry& e) {
        if (S_ISREG(e.st.st_mode)) total += static_cast<uint64_t>(e.st.st_size);
        return true;
      },
      [&] {
        if (++n > max_entries || (n % 1024 == 0 && ctx.cancelled())) partial = true;
        return partial;
      });
  if (err != 0) partial = true;
  return total;
}

std::optional<Newest> newest_backup(const std::string& pattern, size_t max_entries,
                                    sdk::Context& ctx) {
  glob_t g{};
  int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
  Newest best;
  bool found = false;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      struct stat st {};
      // A link is not the backup itself (and may point at what the backup account cannot read).
      if (::lstat(g.gl_pathv[i], &st) != 0) continue;
      if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
      ++best.matched;
      double mtime = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
      if (!found || mtime > best.mtime) {
        found = true;
        best.path = g.gl_pathv[i];
        best.mtime = mtime;
        best.is_dir = S_ISDIR(st.st_mode);
        best.size = static_cast<uint64_t>(st.st_size);
      }
    }
  }
  ::globfree(&g);
  if (!found) return std::nullopt;
  if (best.is_dir) best.size = directory_size(best.path, max_entries, best.partial, ctx);
  return best;
}

// The filesystem's space and inodes, from statvfs(3), in the units the report uses.
struct FsUsage {
  double size = 0, avail = 0, used = 0, free_pct = 0;
  bool has_inodes = false, read_only = false;
  uint64_t inodes_total = 0, inodes_free = 0;
  double inodes_free_pct = 100.0;
};

FsUsage usage_of(const struct statvfs& vfs) {
  FsUsage u;
  const double frsize = static_cast<double>(vfs.f_frsize);
  u.size = static_cast<double>(vfs.f_blocks) * frsize;
  u.avail = static_cast<double>(vfs.f_bavail) * frsize;
  u.used = static_cast<double>(vfs.f_blocks - vfs.f_bfree) * frsize;
  // As df: the share of what an unprivileged writer can still use (root's reserve excluded).
  u.free_pct = u.used + u.avail > 0 ? u.avail / (u.used + u.avail) * 100.0 : 0.0;
  u.has_inodes = vfs.f_files > 0;
  u.inodes_total = vfs.f_files;
  u.inodes_free = vfs.f_favail;
  if (u.has_inodes)
    u.inodes_free_pct =
        static_cast<double>(vfs.f_favail) / static_cast<double>(vfs.f_files) * 100.0;
  u.read_only = (vfs.f_flag & ST_RDONLY) != 0;
  return u;
}

void report_usage_metrics(const FsUsage& u, const json& labels, sdk::Context& ctx) {
  ctx.metric("disk_free", u.avail, "bytes", labels);
  ctx.metric("disk_size", u.size, "bytes", labels);
  ctx.metric("disk_free", u.free_pct, "percent", labels);
  if (u.has_inodes) {
    ctx.metric("disk_free_inodes", static_cast<double>(u.inodes_free), "count", labels);
    ctx.metric("disk_free_inodes", u.inodes_free_pct, "percent", labels);
  }
}

json usage_details(const std::string& path, const FsUsage& u) {
  return {{"path", path},
          {"size_bytes", u.size},
          {"used_bytes", u.used},
          {"free_bytes", u.avail},
          {"free_percent", u.free_pct},
          {"inodes_total", u.has_inodes ? json(u.inodes_total) : json(nullptr)},
          {"inodes_free", u.has_inodes ? json(u.inodes_free) : json(nullptr)},
          {"inodes_free_percent", u.has_inodes ? json(u.inodes_free_pct) : json(nullptr)},
          {"read_only", u.read_only}};
}

// The thresholds the checklist sets.
struct Limits {
  double warn_pct, fail_pct, warn_inodes, fail_inodes;
  std::optional<uint64_t> min_free;
};

// Read-only, too little free space (by share or by min_free), too few free inodes.
void check_space(const std::string& path, const FsUsage& u, const Limits& l, json& details,
                 sdk::Findings& verdict) {
  const std::string where = "on the filesystem of " + path;
  const std::string free_text =
      human_size(u.avail) + " (" + fixed1(u.free_pct) + "%) free " + where;
  if (u.read_only)
    verdict.fail("the filesystem of " + path + " is mounted read-only",
                 "Find out why it is read-only (`dmesg | grep -i -e error -e remount` shows an "
                 "ext4/xfs error remount) and fix the disk before remounting it read-write with "
                 "`mount -o remount,rw` on its mount point.");

  const std::string clean_hint = "See what takes the room with `du -xsh " + shell_quote(path) +
                                 "/* | sort -h | tail`, remove backups past their retention or "
                                 "move them to other storage, or grow the filesystem.";
  if (u.free_pct < l.fail_pct)
    verdict.fail("only " + free_text + ", below " + fixed1(l.fail_pct) + "%", clean_hint);
  else if (u.free_pct < l.warn_pct)
    verdict.warn("only " + free_text + ", below " + fixed1(l.warn_pct) + "%", clean_hint);
  if (l.min_free) {
    details["min_free_bytes"] = *l.min_free;
    if (u.avail < static_cast<double>(*l.min_free))
      verdict.fail("only " + human_size(u.avail) + " free " + where + ", less than the required " +
                       human_size(static_cast<double>(*l.min_free)),
                   clean_hint);
  }
}

void check_inodes(const std::string& path, const FsUsage& u, const Limits& l,
                  sdk::Findings& verdict) {
  if (!u.has_inodes) return;
  const std::string inode_text = std::to_string(u.inodes_free) + " inodes (" +
                                 fixed1(u.inodes_free_pct) + "%) free on the filesystem of " + path;
  const std::string inode_hint =
      "The filesystem is running out of file entries rather than bytes: find the directories "
      "holding most files with `find " +
      shell_quote(path) +
      " -xdev -type f | sed 's|/[^/]*$||' | sort | uniq -c | sort -n | tail` and prune them or "
      "pack them into archives.";
  if (u.inodes_free_pct < l.fail_inodes)
    verdict.fail("only " + inode_text + ", below " + fixed1(l.fail_inodes) + "%", inode_hint);
  else if (u.inodes_free_pct < l.warn_inodes)
    verdict.warn("only " + inode_text + ", below " + fixed1(l.warn_inodes) + "%", inode_hint);
}

// Whether the next backup, sized like the newest one times the margin, fits in what is free.
void check_room_for_next(const std::string& pattern, double margin, size_t max_entries,
                         const std::string& path, const FsUsage& u, const json& labels,
                         json& details, sdk::Findings& verdict, sdk::Context& ctx) {
  const std::string where = "on the filesystem of " + path;
  details["backup_glob"] = pattern;
  details["growth_margin"] = margin;
  auto newest = newest_backup(pattern, max_entries, ctx);
  if (!newest) {
    details["backups_matched"] = 0;
    verdict.warn("no backup matches " + pattern + ", so the room for the next one is unknown",
                 "Check that backup_glob matches the files your backup job writes (`ls -la " +
                     shell_quote(fs::path(pattern).parent_path().string()) +
                     "`); if no backup exists yet, that is a problem of its own.");
    return;
  }
  double needed = static_cast<double>(newest->size) * margin;
  bool room = u.avail >= needed;
  details["backups_matched"] = newest->matched;
  details["newest_backup"] = {{"path", newest->path},
                              {"size_bytes", newest->size},
                              {"mtime", newest->mtime},
                              {"is_directory", newest->is_dir},
                              {"size_is_lower_bound", newest->partial}};
  details["next_backup_estimate_bytes"] = needed;
  details["room_for_next_backup"] = room;
  ctx.metric("newest_backup_size", static_cast<double>(newest->size), "bytes", labels);
  ctx.metric("newest_backup_timestamp", newest->mtime, "seconds", labels);
  ctx.metric("next_backup_estimate", needed, "bytes", labels);
  ctx.metric("next_backup_headroom", u.avail - needed, "bytes", labels);
  if (room) return;
  double shortfall = needed - u.avail;
  details["shortfall_bytes"] = shortfall;
  std::string dir = fs::path(pattern).parent_path().string();
  std::string name = fs::path(pattern).filename().string();
  verdict.fail("the next backup needs about " + human_size(needed) + " (newest " + newest->path +
                   " is " + human_size(static_cast<double>(newest->size)) + ", x" + fixed1(margin) +
                   ") but only " + human_size(u.avail) + " is free " + where,
               "Free at least " + human_size(shortfall) + " " + where +
                   " before the next run: list old backups with `find " + shell_quote(dir) +
                   " -maxdepth 1 -name " + shell_quote(name) +
                   " -mtime +30 -print`, remove those your retention policy no longer "
                   "needs (or copy them off-host first), or grow the filesystem.");
}

void run(const json& params, sdk::Context& ctx, const Hooks&) {
  std::string path = string_param(params, "path", "");
  if (path.empty()) throw sdk::CheckError("parameter 'path' is required");
  double margin = number_param(params, "growth_margin", 1.2);
  if (margin < 1) throw sdk::CheckError("growth_margin must be at least 1");
  Limits limits{
      number_param(params, "warn_free_percent", 15), number_param(params, "fail_free_percent", 5),
      number_param(params, "warn_free_inodes_percent", 10),
      number_param(params, "fail_free_inodes_percent", 2), optional_size(params, "min_free")};
  size_t max_entries = static_cast<size_t>(number_param(params, "max_scan_entries", 200000));

  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) {
    int err = errno;
    ctx.report(sdk::Status::error, "cannot read the filesystem of " + path + ": " + errno_text(err),
               err == ENOENT ? "Create " + path +
                                   " or point 'path' at the directory the backups are written to."
                             : "Run backup-doctor as a user that can reach " + path + ".",
               {{"path", path}, {"errno", err}});
    return;
  }
  FsUsage u = usage_of(vfs);
  json labels = {{"path", path}};
  report_usage_metrics(u, labels, ctx);

  json details = usage_details(path, u);
  sdk::Findings verdict;
  check_space(path, u, limits, details, verdict);
  check_inodes(path, u, limits, verdict);
  if (params.contains("backup_glob") && params["backup_glob"].is_string())
    check_room_for_next(params["backup_glob"].get<std::string>(), margin, max_entries, path, u,
                        labels, details, verdict, ctx);

  const std::string free_text =
      human_size(u.avail) + " (" + fixed1(u.free_pct) + "%) free on the filesystem of " + path;
  verdict.report(
      ctx,
      free_text + ", " +
          (u.has_inodes ? fixed1(u.inodes_free_pct) + "% of inodes free"
                        : std::string("no inode limit")) +
          (details.contains("room_for_next_backup")
               ? ", room for the next backup (" +
                     human_size(details["next_backup_estimate_bytes"].get<double>()) + ")"
               : ""),
      details, sdk::Findings::Style::list);
}

}  // namespace

sdk::CheckType disk_check(const Hooks& hooks) {
  return {
      .type = "resources.disk",
      .summary = "Free space and inodes where backups are written, and room for the next backup",
      .doc =
          "Reads statvfs(3) for the filesystem holding `path` and reports free bytes, free "
          "percentage (as `df` computes it, without root's reserved blocks) and free inodes. "
          "With `backup_glob`, the newest matching backup's size times `growth_margin` must fit "
          "in the free space, or the next run would fill the disk. Read-only filesystems fail.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = [&hooks](const json& params, sdk::Context& ctx) { run(params, ctx, hooks); }};
}

}  // namespace backup_doctor::resources
