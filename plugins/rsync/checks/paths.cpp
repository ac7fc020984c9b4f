// rsync.paths: source and destination exist, are directories, are usable by the backup user
// (tested as that user), and the destination filesystem has room for the source.
#include "checks.hpp"

#include "users.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/support/user_access.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "location.hpp"
#include "tree_size.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace backup_doctor::rsync {

using sdk::errno_text;
using sdk::Findings;
using sdk::group_name;
using sdk::human_size;
using sdk::shell_quote;
namespace {

namespace fs = std::filesystem;

// "10", "2.5", "1e+15": a margin as written, whatever its size (an int cast would overflow).
std::string percent_text(double percent) {
  std::ostringstream out;
  out << percent;
  return out.str();
}
using sdk::Status;
using support::Access;
using support::UserIds;

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["source", "destination"],
  "properties": {
    "source": {"type": "string", "minLength": 1,
      "description": "The directory the rsync job copies from (a local path)."},
    "destination": {"type": "string", "minLength": 1,
      "description": "The directory the job copies into. A remote `[user@]host:path` destination is not checked here (use rsync.remote); only the source is."},
    "backup_user": {"type": "string", "minLength": 1,
      "description": "The account the rsync job runs as; access is tested as this user in a child process. Default: the user backup-doctor runs as."},
    "check_space": {"type": "boolean", "default": true,
      "description": "Compare the destination filesystem's free space with the size of the source tree (walks the source). Default true."},
    "space_margin_percent": {"type": "number", "minimum": 0, "default": 10,
      "description": "Head room required on top of the source size, in percent. Default 10."},
    "incremental": {"type": "boolean", "default": false,
      "description": "The destination already holds the previous copy of this source and is updated in place: only the growth (source size minus destination tree size) plus the largest file (rsync's temporary copy) must fit. Default false: the whole source must fit."}
  }
})";

const char* type_name(mode_t m) {
  if (S_ISREG(m)) return "a regular file";
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a directory";
}

// "/a/b/" -> "/a/b" (lexically normal, no trailing slash), so parent_path() is "/a".
fs::path without_slash(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

fs::path parent_of(const std::string& path) {
  fs::path p = without_slash(path).parent_path();
  return p.empty() ? fs::path(".") : p;
}

std::string existing_ancestor(const std::string& path) {
  fs::path p = without_slash(path);
  std::error_code ec;
  while (p.has_parent_path() && p != p.root_path()) {
    p = p.parent_path();
    if (fs::exists(p, ec)) return p.string();
  }
  return p.empty() || !p.has_root_path() ? "." : p.string();
}

std::string describe_owner(const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  auto owner = support::lookup_user(std::to_string(st.st_uid));
  return "owned by " + (owner ? owner->name : std::to_string(st.st_uid)) + ":" +
         group_name(st.st_gid) + ", mode " + mode;
}

// The highest directory on the way to `path` that `user` cannot enter, or "".
std::string blocking_ancestor(const UserIds& user, const std::string& path) {
  fs::path p = without_slash(path);
  fs::path acc;
  for (const auto& part : p.parent_path()) {
    acc /= part;
    auto a = support::test_access_as(user, acc.string(), Access::execute);
    if (a.tested && !a.allowed) return acc.string();
  }
  return {};
}

// Read + enter for a source directory, write + enter for a destination, tested as `user`.
// Adds a finding and returns false when the user lacks them.
bool check_access(const UserIds& user, const std::string& path, bool want_write, Findings& f,
                  json& facts) {
  const std::string who = "user '" + user.name + "'";
  const std::string grp = group_name(user.gid);
  std::string blocker = blocking_ancestor(user, path);
  if (!blocker.empty()) {
    facts["blocked_by"] = blocker;
    struct stat st {};
    stat(blocker.c_str(), &st);
    f.add(Status::fail, "The " + who + " cannot reach " + path + ": it may not enter " + blocker,
          blocker + " is " + describe_owner(st) + ". Let " + who +
              " traverse it, e.g. `setfacl -m u:" + user.name + ":x " + shell_quote(blocker) +
              "` (or `chmod o+x " + shell_quote(blocker) + "` if any user may pass through).");
    return false;
  }
  auto first = support::test_access_as(user, path, want_write ? Access::write : Access::read);
  auto enter = first.allowed ? support::test_access_as(user, path, Access::execute) : first;
  if (!first.tested || !enter.tested) {
    f.add(Status::error,
          "Could not test access to " + path + " as " + who + ": " +
              (first.tested ? enter.reason : first.reason),
          "Run backup-doctor as root so it can switch to " + who + " for the test.");
    return false;
  }
  facts[want_write ? "writable" : "readable"] = first.allowed && enter.allowed;
  if (first.allowed && enter.allowed) return true;
  struct stat st {};
  stat(path.c_str(), &st);
  std::string reason = first.allowed ? enter.reason : first.reason;
  if (want_write) {
    f.add(Status::fail, "Destination " + path + " is not writable by " + who + " (" + reason + ")",
          path + " is " + describe_owner(st) + ". Give it to the backup user: `chown " + user.name +
              ":" + grp + " " + shell_quote(path) + " && chmod u+rwx " + shell_quote(path) +
              "` (or keep the owner and add `setfacl -m u:" + user.name + ":rwx " +
              shell_quote(path) + "`).");
  } else {
    f.add(Status::fail, "Source " + path + " is not readable by " + who + " (" + reason + ")",
          path + " is " + describe_owner(st) +
              ". Grant the backup user read access to the "
              "tree: `setfacl -R -m u:" +
              user.name + ":rX " + shell_quote(path) + "` (plus `setfacl -R -d -m u:" + user.name +
              ":rX " + shell_quote(path) +
              "` so new files inherit it), or run the job as the owner.");
  }
  return false;
}

// What the check was asked about, read once from the parameters.
struct PathsJob {
  std::string source;
  std::string destination;
  bool named_user = false;
  UserIds user;
  bool check_space = true;
  double margin = 10.0;
  bool incremental = false;
  Location src_loc;
  Location dst_loc;
};

PathsJob read_job(const json& params) {
  PathsJob job;
  job.source = params.at("source").get<std::string>();
  job.destination = params.at("destination").get<std::string>();
  job.named_user = params.contains("backup_user");
  job.user = user_param(params, "backup_user").value_or(current_user());
  job.check_space = params.value("check_space", true);
  job.margin = params.value("space_margin_percent", 10.0);
  job.incremental = params.value("incremental", false);
  job.src_loc = parse_location(job.source);
  job.dst_loc = parse_location(job.destination);
  return job;
}

bool is_local(const Location& loc) {
  return loc.kind == Location::Kind::local;
}

// The local source: exists, is a directory, readable by the backup user. True when usable.
bool check_local_source(const PathsJob& job, Findings& f, json& facts) {
  const std::string& source = job.source;
  struct stat st {};
  if (stat(source.c_str(), &st) != 0) {
    int e = errno;
    facts["exists"] = false;
    if (e == ENOENT) {
      std::string anc = existing_ancestor(source);
      facts["nearest_existing_parent"] = anc;
      f.add(Status::fail, "Source " + source + " does not exist",
            "Nothing exists at " + source + " (the closest existing parent is " + anc +
                "). Correct the source path in the rsync job, or mount the volume that "
                "should provide it (`findmnt --target " +
                shell_quote(anc) + "` shows what is mounted there).");
    } else {
      f.add(Status::fail, "Source " + source + " cannot be examined: " + errno_text(e),
            "Check the path and the permissions of its parent directories.");
    }
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    facts["exists"] = true;
    facts["is_directory"] = false;
    f.add(Status::fail, "Source " + source + " is " + type_name(st.st_mode) + ", not a directory",
          "Point the job's source at the directory tree to back up.");
    return false;
  }
  facts["exists"] = true;
  facts["is_directory"] = true;
  return check_access(job.user, source, false, f, facts);
}

bool check_source(const PathsJob& job, Findings& f, json& details) {
  if (!is_local(job.src_loc)) {
    details["source"]["remote"] = true;
    return false;
  }
  return check_local_source(job, f, details["source"]);
}

// A destination that does not exist: how to create it depends on whether its parent does.
void report_missing_destination(const PathsJob& job, const std::string& grp, Findings& f,
                                json& facts) {
  const std::string& destination = job.destination;
  const UserIds& user = job.user;
  std::string anc = existing_ancestor(destination);
  facts["nearest_existing_parent"] = anc;
  std::error_code ec;
  bool parent_exists = fs::is_directory(parent_of(destination), ec);
  f.add(Status::fail, "Destination " + destination + " does not exist",
        parent_exists
            ? "Create it for the backup user: `install -d -o " + user.name + " -g " + grp +
                  " -m 0750 " + shell_quote(destination) +
                  "`. If it should live on a separate backup volume, mount that first."
            : "Neither it nor its parent directories below " + anc +
                  " exist: is the backup volume mounted (`findmnt --target " + shell_quote(anc) +
                  "`)? Otherwise create it with `mkdir -p " + shell_quote(destination) +
                  " && chown " + user.name + ":" + grp + " " + shell_quote(destination) + "`.");
}

// The local destination: exists, is a directory, writable by the backup user. True when usable.
bool check_local_destination(const PathsJob& job, Findings& f, json& facts) {
  const std::string& destination = job.destination;
  struct stat st {};
  const std::string grp = group_name(job.user.gid);
  if (stat(destination.c_str(), &st) != 0) {
    int e = errno;
    facts["exists"] = false;
    if (e == ENOENT) {
      report_missing_destination(job, grp, f, facts);
    } else {
      f.add(Status::fail, "Destination " + destination + " cannot be examined: " + errno_text(e),
            "Check the path and the permissions of its parent directories.");
    }
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    facts["exists"] = true;
    facts["is_directory"] = false;
    f.add(Status::fail,
          "Destination " + destination + " is " + type_name(st.st_mode) + ", not a directory",
          "Move that file out of the way or point the job at the backup directory.");
    return false;
  }
  facts["exists"] = true;
  facts["is_directory"] = true;
  return check_access(job.user, destination, true, f, facts);
}

// A destination inside the source makes every run copy the previous copy again.
void check_not_inside_source(const PathsJob& job, Findings& f, json& facts) {
  std::error_code ec;
  auto s = fs::weakly_canonical(without_slash(job.source), ec);
  auto d = fs::weakly_canonical(without_slash(job.destination), ec);
  auto rel = d.lexically_relative(s);
  if (!ec && !rel.empty() && *rel.begin() != "..") {
    facts["inside_source"] = true;
    f.add(Status::warn, "Destination " + job.destination + " lies inside the source " + job.source,
          "Every run would copy the backup into itself. Move the destination out of the "
          "source tree, or add `--exclude=/" +
              rel.string() + "` to the job.");
  }
}

bool check_destination(const PathsJob& job, Findings& f, json& details) {
  if (!is_local(job.dst_loc)) {
    details["destination"]["remote"] = true;
    details["destination"]["note"] = "remote destinations are checked by rsync.remote";
    return false;
  }
  json& facts = details["destination"];
  bool dest_ok = check_local_destination(job, f, facts);
  if (is_local(job.src_loc)) check_not_inside_source(job, f, facts);
  return dest_ok;
}

// The source tree, measured only when its size can matter; `opened` is false otherwise.
TreeSize measure_source(const PathsJob& job, bool source_ok, sdk::Context& ctx, Findings& f,
                        json& details) {
  TreeSize src_size;
  if (!job.check_space || !source_ok || !is_local(job.dst_loc)) return src_size;
  src_size = measure_tree(job.source, &ctx);
  if (src_size.cancelled) throw sdk::CheckError("cancelled while measuring " + job.source);
  if (!src_size.opened) {
    f.add(Status::warn, "Source " + job.source + " was not measured: " + src_size.refusal,
          "A link another account made is not followed, since it could point at files that "
          "account cannot read; point the job (and this check) at the real directory.");
    details["space"] = {{"measured", false}, {"reason", src_size.refusal}};
  }
  return src_size;
}

// Bytes the sync writes: the whole source, or for an incremental job the growth plus the
// largest file (rsync's temporary copy).
uint64_t bytes_needed(const PathsJob& job, bool dest_ok, const TreeSize& src_size,
                      sdk::Context& ctx, json& space) {
  if (!job.incremental || !dest_ok) return src_size.bytes;
  TreeSize dst_size = measure_tree(job.destination, &ctx);
  if (dst_size.cancelled) throw sdk::CheckError("cancelled while measuring " + job.destination);
  if (!dst_size.opened) space["destination_not_measured"] = dst_size.refusal;
  space["destination_bytes"] = dst_size.bytes;
  return (src_size.bytes > dst_size.bytes ? src_size.bytes - dst_size.bytes : 0) + src_size.largest;
}

// Saturated: a margin so large that the need does not fit in 64 bits can never be met.
uint64_t with_margin(uint64_t needed, double margin) {
  const double wanted = static_cast<double>(needed) * (1.0 + margin / 100.0);
  return wanted >= 0x1p64 ? UINT64_MAX : static_cast<uint64_t>(wanted);
}

void add_not_enough_space(const PathsJob& job, const std::string& where, uint64_t available,
                          uint64_t needed, uint64_t required, Findings& f) {
  f.add(Status::fail,
        "Destination filesystem has " + human_size(available) + " free but the sync needs " +
            human_size(required) + " (" + (job.incremental ? "growth" : "source") + " " +
            human_size(needed) + " + " + percent_text(job.margin) + "% margin)",
        "Free at least " + human_size(required - available) + " on the filesystem holding " +
            where + " (prune old copies or snapshots there) or grow it." +
            (job.incremental ? std::string()
                             : " If the destination already holds the previous copy and is "
                               "updated in place, set incremental: true to count only the "
                               "growth."));
}

// Compares the measured source with the free space of the destination filesystem.
void check_room(const PathsJob& job, bool dest_ok, const TreeSize& src_size, sdk::Context& ctx,
                Findings& f, json& details) {
  ctx.metric("source_size", static_cast<double>(src_size.bytes), "bytes");
  ctx.metric("source_files", static_cast<double>(src_size.files), "count");
  std::string where = dest_ok ? job.destination : existing_ancestor(job.destination);
  json space = {{"source_bytes", src_size.bytes},         {"source_files", src_size.files},
                {"largest_file_bytes", src_size.largest}, {"filesystem_of", where},
                {"margin_percent", job.margin},           {"incremental", job.incremental}};
  const uint64_t needed = bytes_needed(job, dest_ok, src_size, ctx, space);
  const uint64_t required = with_margin(needed, job.margin);
  FreeSpace free = free_space(where);
  space["required_bytes"] = required;
  if (src_size.unreadable_dirs > 0) space["unmeasured_directories"] = src_size.unreadable_dirs;
  if (!free.ok) {
    f.add(Status::error, "Could not read free space of " + where + ": " + free.error,
          "Check that " + where + " is a mounted, reachable filesystem.");
  } else {
    space["available_bytes"] = free.available;
    space["filesystem_bytes"] = free.total;
    ctx.metric("destination_free", static_cast<double>(free.available), "bytes");
    ctx.metric("destination_required", static_cast<double>(required), "bytes");
    if (free.available < required)
      add_not_enough_space(job, where, free.available, needed, required, f);
  }
  details["space"] = space;
}

std::string ok_summary(const PathsJob& job, const json& details) {
  std::string ok = "Source " + job.source + " is readable and destination " + job.destination +
                   " is writable by user '" + job.user.name + "'";
  if (details.contains("space") && details["space"].contains("available_bytes"))
    ok += "; " + human_size(details["space"]["available_bytes"].get<uint64_t>()) + " free for " +
          human_size(details["space"]["required_bytes"].get<uint64_t>()) + " needed";
  return ok;
}

void run(const json& params, sdk::Context& ctx) {
  const PathsJob job = read_job(params);
  if (!is_local(job.src_loc) && !is_local(job.dst_loc)) {
    ctx.skip("Both source and destination are remote; nothing local to check",
             {{"source", job.source}, {"destination", job.destination}});
    return;
  }
  Findings f;
  json details = {{"backup_user", job.user.name},
                  {"backup_user_given", job.named_user},
                  {"source", {{"path", job.source}}},
                  {"destination", {{"path", job.destination}}}};
  const bool source_ok = check_source(job, f, details);
  const bool dest_ok = check_destination(job, f, details);
  const TreeSize src_size = measure_source(job, source_ok, ctx, f, details);
  if (src_size.opened) check_room(job, dest_ok, src_size, ctx, f, details);
  f.report(ctx, ok_summary(job, details), details);
}

}  // namespace

sdk::CheckType paths_check() {
  return {
      .type = "rsync.paths",
      .summary =
          "Source and destination exist, are directories, are usable by the backup user, and "
          "the destination has room",
      .doc =
          "Checks the paths of an rsync job before it runs: the source exists, is a directory and "
          "can be listed and entered by the backup user; the destination exists, is a directory "
          "and can be written and entered by that user. Access is tested for real, as that user, "
          "in a child process (root would pass every test), and a directory on the way that the "
          "user cannot enter is named. Then the source tree is measured and compared with the "
          "free space of the destination filesystem plus a margin (without following links; a "
          "source that is a link another account made is not measured).\n\nA destination "
          "inside the source is reported as a warning, because every run would copy the backup "
          "again.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::rsync
