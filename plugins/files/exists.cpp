// files.exists: is the path there, and is it what the backup job expects (file or directory)?
#include "checks.hpp"
#include "util.hpp"

#include <dirent.h>
#include <unistd.h>
#include <cerrno>

namespace backup_doctor::files {

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
             "description": "Path that must exist, e.g. /opt/backups/database."},
    "type": {"type": "string", "enum": ["file", "dir", "any"], "default": "any",
             "description": "What the path must be: a regular file, a directory, or anything. Default: any."},
    "non_empty": {"type": "boolean", "default": false,
                  "description": "Also require content: a file larger than 0 bytes, a directory with at least one entry. Default: false."},
    "follow_symlinks": {"type": "boolean", "default": true,
                        "description": "Judge the target of a symbolic link rather than the link itself. Default: true."}
  }
})";

// Entries in a directory (without . and ..), or -1 when it cannot be listed.
long count_entries(const std::string& path, int& err) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    err = errno;
    return -1;
  }
  long n = 0;
  while (struct dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") ++n;
  }
  closedir(d);
  return n;
}

void run(const json& params, sdk::Context& ctx) {
  const std::string path = required_string(params, "path");
  const std::string want = params.value("type", std::string("any"));
  if (want != "file" && want != "dir" && want != "any")
    throw sdk::CheckError("parameter 'type' must be file, dir or any (got '" + want + "')");
  const bool non_empty = params.value("non_empty", false);
  const bool follow = params.value("follow_symlinks", true);
  const std::string noun = want == "dir" ? "directory" : want == "file" ? "file" : "path";

  json details = {{"path", path}, {"expected_type", want}};
  struct stat st {};
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) {
    int err = errno;
    if (err != ENOENT && err != ENOTDIR) {
      details["error"] = errno_text(err);
      ctx.report(sdk::Status::error, "cannot look at " + path + ": " + errno_text(err),
                 "backup-doctor (uid " + std::to_string(geteuid()) +
                     ") could not stat the path; run it as root or as a user that can enter "
                     "every directory leading to " +
                     shell_quote(path) + ".",
                 details);
      return;
    }
    struct stat link {};
    if (follow && lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = readlink(path.c_str(), target.data(), target.size());
      target.resize(n > 0 ? static_cast<size_t>(n) : 0);
      details["symlink_target"] = target;
      ctx.fail(path + " is a symbolic link to " + target + ", which does not exist",
               "The link points nowhere: the volume or directory it names is gone or not "
               "mounted. Check the target (ls -ld " +
                   shell_quote(target) + "; findmnt -T " + shell_quote(target) +
                   ") and either restore it or re-point the link with ln -sfn <new target> " +
                   shell_quote(path) + ".",
               details);
      return;
    }
    std::string parent = nearest_existing_ancestor(path);
    details["nearest_existing_parent"] = parent;
    std::string remediation;
    if (want == "dir") {
      remediation =
          "Create the directory for the account the backup job runs as, e.g. "
          "install -d -m 0700 -o backup -g backup " +
          shell_quote(path) +
          ". If it should already exist, check whether the volume "
          "that holds it is mounted: findmnt -T " +
          shell_quote(parent) + ".";
    } else {
      remediation = "Nothing is at " + shell_quote(path) + " (the deepest existing directory is " +
                    shell_quote(parent) + "). If the backup job writes this " + noun +
                    ", look at its last run: it has not produced it. Otherwise correct the path "
                    "in the checklist, or check that the volume is mounted (findmnt -T " +
                    shell_quote(parent) + ").";
    }
    ctx.fail(noun + " " + path + " does not exist", remediation, details);
    return;
  }

  details.update(stat_details(st));
  const bool is_dir = S_ISDIR(st.st_mode), is_file = S_ISREG(st.st_mode);
  if ((want == "dir" && !is_dir) || (want == "file" && !is_file)) {
    ctx.fail(path + " is a " + type_name(st.st_mode) + ", expected a " + noun,
             "Something other than the expected " + noun + " occupies " + shell_quote(path) +
                 " (ls -ld " + shell_quote(path) +
                 "). Move it aside if it was created by mistake so the backup job can write "
                 "its " +
                 noun + " there, or correct the path in the checklist.",
             details);
    return;
  }

  std::string facts;
  if (is_dir) {
    int err = 0;
    long entries = count_entries(path, err);
    if (entries < 0) {
      details["error"] = errno_text(err);
      ctx.report(sdk::Status::error, "cannot list directory " + path + ": " + errno_text(err),
                 "Run backup-doctor as root or as a user that can read " + shell_quote(path) + ".",
                 details);
      return;
    }
    details["entries"] = entries;
    ctx.metric("directory_entries", static_cast<double>(entries), "count", {{"path", path}});
    if (non_empty && entries == 0) {
      ctx.fail("directory " + path + " is empty",
               "No backup has been written into " + shell_quote(path) +
                   ": check that the backup job is scheduled, that it writes to this directory, "
                   "and read its log for the last run.",
               details);
      return;
    }
    facts = "directory, " + std::to_string(entries) + " entries";
  } else {
    ctx.metric("file_size", static_cast<double>(st.st_size), "bytes", {{"path", path}});
    if (non_empty && is_file && st.st_size == 0) {
      ctx.fail("file " + path + " is empty (0 bytes)",
               "An empty " + shell_quote(path) +
                   " usually means the job that writes it stopped early (disk full, killed, "
                   "failed command in a pipe). Read the job's log for the run at " +
                   iso_time(mtime_seconds(st)) + " and run it again.",
               details);
      return;
    }
    facts = type_name(st.st_mode) + ", " + human_size(static_cast<uintmax_t>(st.st_size));
  }
  ctx.ok(path + " exists (" + facts + ", " + mode_string(st.st_mode) + " " + user_name(st.st_uid) +
             ":" + group_name(st.st_gid) + ")",
         details);
}

}  // namespace

CheckSpec exists_check() {
  return {"files.exists", "A file or directory exists (and optionally is not empty)",
          "Checks that `path` exists and is of the expected `type`. A missing path reports the "
          "deepest directory that does exist, a dangling symbolic link names its target, and "
          "`non_empty` also catches an empty backup file or a backup directory nothing was "
          "ever written to. Metrics: `directory_entries` (count) for a directory, `file_size` "
          "(bytes) otherwise.",
          with_duration_patterns(kSchema), &run};
}

}  // namespace backup_doctor::files
