// rsync.open_files: files under the source that a process holds open for writing; a copy made
// now would catch them half-written.
#include "checks.hpp"

#include "users.hpp"

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>
#include "local_tree.hpp"
#include "open_files.hpp"

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace backup_doctor::rsync {

using sdk::context_cancelled;
using sdk::shell_quote;
using sdk::string_list;
namespace {

namespace fs = std::filesystem;
using sdk::Status;

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["source"],
  "properties": {
    "source": {
      "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
      ],
      "description": "The directory (or directories) the rsync job copies from."},
    "ignore_processes": {"type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Process names (as in /proc/<pid>/comm, e.g. \"rsyslogd\") whose open files are expected and not reported. Default none."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "How many open files to list in details. Default 20."}
  }
})";

void run(const json& params, sdk::Context& ctx) {
  std::vector<std::string> roots;
  json missing = json::array();
  json refused = json::array();
  for (const auto& s : string_list(params, "source")) {
    OpenedTree tree = open_tree(s);
    if (tree)
      roots.push_back(tree.real_path);
    else if (tree.missing)
      missing.push_back(s);
    else
      refused.push_back({{"path", s}, {"reason", tree.refusal}});
  }
  if (roots.empty() && !refused.empty()) {
    ctx.report(Status::error,
               "Source " + refused[0]["path"].get<std::string>() +
                   " was not scanned: " + refused[0]["reason"].get<std::string>(),
               "Point the check (and the job) at the real directory: a link another account "
               "made is not followed, since it could point at files that account cannot read.",
               {{"refused_sources", refused}, {"missing_sources", missing}});
    return;
  }
  if (roots.empty()) {
    ctx.report(Status::error, "None of the source paths exist: " + missing.dump(),
               "Fix the source path; rsync.paths tells more about it.",
               {{"missing_sources", missing}});
    return;
  }
  const auto ignore = params.value("ignore_processes", std::vector<std::string>{});
  const size_t max_items = params.value("max_items", size_t{20});

  OpenFileScan scan = scan_open_files(roots, &context_cancelled, &ctx);
  if (ctx.cancelled()) throw sdk::CheckError("cancelled");
  std::vector<OpenFile> found;
  size_t ignored = 0;
  for (auto& f : scan.files) {
    if (f.pid == getpid()) continue;
    if (std::find(ignore.begin(), ignore.end(), f.process) != ignore.end()) {
      ++ignored;
      continue;
    }
    found.push_back(f);
  }

  json details = {{"sources", roots},
                  {"processes_scanned", scan.processes_scanned},
                  {"open_for_writing_count", found.size()}};
  if (!missing.empty()) details["missing_sources"] = missing;
  if (!refused.empty()) details["refused_sources"] = refused;
  if (ignored) details["ignored_count"] = ignored;
  if (scan.processes_unreadable) details["processes_not_inspected"] = scan.processes_unreadable;
  json list = json::array();
  for (size_t i = 0; i < found.size() && i < max_items; ++i)
    list.push_back({{"pid", found[i].pid},
                    {"process", found[i].process},
                    {"path", found[i].path},
                    {"fd", found[i].fd},
                    {"access", found[i].read_write ? "read-write" : "write"}});
  details["open_for_writing"] = list;
  ctx.metric("open_for_writing_files", static_cast<double>(found.size()), "count");

  std::string partial = scan.processes_unreadable
                            ? " (" + std::to_string(scan.processes_unreadable) +
                                  " processes could not be inspected: run as root)"
                            : "";
  if (!refused.empty())
    partial += " (" + refused[0]["path"].get<std::string>() +
               " was not scanned: " + refused[0]["reason"].get<std::string>() + ")";
  if (found.empty()) {
    std::string summary =
        "No process holds files under " + roots.front() +
        (roots.size() > 1 ? " (and " + std::to_string(roots.size() - 1) + " more)" : "") +
        " open for writing" + partial;
    if (refused.empty())
      ctx.ok(summary, details);
    else
      ctx.warn(summary,
               "Point the check (and the job) at the real directory: a link another account "
               "made is not followed, since it could point at files that account cannot read.",
               details);
    return;
  }
  // Group by process for the message: "postgres (pid 812): 3 files".
  std::map<std::pair<pid_t, std::string>, std::vector<std::string>> by_proc;
  for (const auto& f : found) by_proc[{f.pid, f.process}].push_back(f.path);
  std::string who;
  for (const auto& [proc, paths] : by_proc) {
    if (!who.empty()) who += "; ";
    if (who.size() > 300) {
      who += "...";
      break;
    }
    who += proc.second + " (pid " + std::to_string(proc.first) + ") writing " + paths.front() +
           (paths.size() > 1 ? " and " + std::to_string(paths.size() - 1) + " more" : "");
  }
  const auto& first = found.front();
  ctx.warn(std::to_string(found.size()) + " file(s) under the source are open for writing: " + who +
               partial,
           "A copy taken now can catch these files half-written. For " + first.process + " (pid " +
               std::to_string(first.pid) + ") writing " + first.path +
               ": pause or stop it during the sync, back the data up with the application's "
               "own dump tool instead (databases), exclude the file "
               "(`--exclude=" +
               shell_quote(fs::path(first.path).filename().string()) +
               "`), or sync from a filesystem snapshot (LVM, ZFS, btrfs). If this writer is "
               "expected and harmless (an append-only log), list it in ignore_processes.",
           details);
}

}  // namespace

sdk::CheckType open_files_check() {
  return {.type = "rsync.open_files",
          .summary = "Files under the source that a process holds open for writing",
          .doc =
              "Scans every process's open file descriptors (/proc/<pid>/fd) for files under the "
              "source and keeps those opened for writing or read-write (the access mode in "
              "/proc/<pid>/fdinfo). rsync copies such files as they are at that instant, so a "
              "database file or an archive being written ends up inconsistent in the backup. Each "
              "one is reported with the process name, pid and path. Needs root to see other users' "
              "processes; otherwise the number of processes not inspected is reported. A source "
              "that is (or passes through) a symbolic link another account made is not followed "
              "and not scanned.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::rsync
