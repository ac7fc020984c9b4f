// files.exists: is the path there, and is it what the backup job expects (file or directory)?
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "checks.hpp"
#include "file_facts.hpp"
#include "inspect.hpp"

#include <unistd.h>
#include <cerrno>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::errno_text;
using sdk::group_name;
using sdk::human_size;
using sdk::iso_time;
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
             "description": "Path that must exist, e.g. /opt/backups/database."},
    "type": {"type": "string", "enum": ["file", "dir", "any"], "default": "any",
             "description": "What the path must be: a regular file, a directory, or anything. Default: any."},
    "non_empty": {"type": "boolean", "default": false,
                  "description": "Also require content: a file larger than 0 bytes, a directory with at least one entry. Default: false."},
    "follow_symlinks": {"type": "boolean", "default": true,
                        "description": "Judge the target of a symbolic link rather than the link itself: followed only when root made the link in a directory only root can change; a link another account could have made is reported, not followed. false: judge the link itself. Default: true."}
  }
})";

// Entries in a directory open on `dir` (any descriptor, O_PATH too), or -1 with `err` set.
long count_entries(int dir, int& err) {
  std::vector<support::DirEntry> entries;
  err = support::list_directory(dir, entries);
  return err ? -1 : static_cast<long>(entries.size());
}

std::string missing_remediation(const std::string& path, const std::string& want,
                                const std::string& noun, const std::string& parent) {
  if (want == "dir")
    return "Create the directory for the account the backup job runs as, e.g. "
           "install -d -m 0700 -o backup -g backup " +
           shell_quote(path) +
           ". If it should already exist, check whether the volume that holds it is mounted: "
           "findmnt -T " +
           shell_quote(parent) + ".";
  return "Nothing is at " + shell_quote(path) + " (the deepest existing directory is " +
         shell_quote(parent) + "). If the backup job writes this " + noun +
         ", look at its last run: it has not produced it. Otherwise correct the path in the "
         "checklist, or check that the volume is mounted (findmnt -T " +
         shell_quote(parent) + ").";
}

// The path could not be looked at: missing, a link that is not followed, or an error.
void report_not_found(const Inspected& in, const std::string& want, const std::string& noun,
                      json& details, sdk::Context& ctx) {
  const std::string& path = in.path;
  const auto& f = in.found;
  if (f.refusal == support::Refusal::missing && !in.followed.empty()) {
    std::string target = in.last_target();
    details["symlink_target"] = target;
    ctx.fail(path + " is a symbolic link to " + target + ", which does not exist",
             "The link points nowhere: the volume or directory it names is gone or not "
             "mounted. Check the target (ls -ld " +
                 shell_quote(target) + "; findmnt -T " + shell_quote(target) +
                 ") and either restore it or re-point the link with ln -sfn <new target> " +
                 shell_quote(path) + ".",
             details);
  } else if (f.refusal == support::Refusal::missing) {
    std::string parent = nearest_existing_ancestor(path);
    details["nearest_existing_parent"] = parent;
    ctx.fail(noun + " " + path + " does not exist", missing_remediation(path, want, noun, parent),
             details);
  } else if (f.refusal == support::Refusal::untrusted_link) {
    details["untrusted_link"] = f.where;
    details["symlink_target"] = f.link_target;
    ctx.fail(f.message + "; so what " + path + " leads to was not looked at",
             link_advice(f.where, f.link_target, "the " + noun), details);
  } else {
    details["error"] = refusal_text(f);
    ctx.report(sdk::Status::error, "cannot look at " + path + ": " + refusal_text(f),
               "backup-doctor (uid " + std::to_string(geteuid()) +
                   ") could not stat the path; run it as root or as a user that can enter "
                   "every directory leading to " +
                   shell_quote(path) + ".",
               details);
  }
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
  const Inspected in = inspect(path, follow);
  if (!in) {
    report_not_found(in, want, noun, details, ctx);
    return;
  }
  const struct stat& st = in.found.st;
  details.update(stat_details(st));
  if (in.resolved != path) details["resolved_path"] = in.resolved;
  if (in.is_link()) details["symlink_target"] = in.found.link_target;
  if (in.is_link() && follow) {
    details["symlink_made_by"] = in.untrusted_link;
    ctx.fail(
        link_not_followed(in) + ", so it is not known whether " + noun + " " + path + " is there",
        link_advice(in.resolved, in.found.link_target, "the " + noun, in.untrusted_link), details);
    return;
  }
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
    long entries = count_entries(in.found.fd.get(), err);
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

sdk::CheckType exists_check() {
  return {.type = "files.exists",
          .summary = "A file or directory exists (and optionally is not empty)",
          .doc =
              "Checks that `path` exists and is of the expected `type`. A missing path reports the "
              "deepest directory that does exist, a dangling symbolic link names its target, and "
              "`non_empty` also catches an empty backup file or a backup directory nothing was "
              "ever written to. Metrics: `directory_entries` (count) for a directory, `file_size` "
              "(bytes) otherwise.\n\n"
              "Nothing another account could have made is followed: a symbolic link is followed "
              "only when root made it in a directory that only root can change; any other link (at "
              "the end of `path` or on the way) fails the check, naming the link, its target and "
              "who could have made it, without looking at what it points to.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::files
