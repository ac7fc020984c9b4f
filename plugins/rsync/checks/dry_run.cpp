// rsync.dry_run: runs the job's own rsync command with --dry-run, maps the exit code to a
// diagnosis, lists the paths rsync complained about, reports the pending drift, and predicts
// the read/write failures a dry run cannot see.
#include "checks.hpp"

#include "access_probe.hpp"
#include "users.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>
#include "exit_codes.hpp"
#include "job_args.hpp"
#include "local_tree.hpp"
#include "location.hpp"
#include "private_file.hpp"
#include "rsync_output.hpp"
#include "ssh_diagnosis.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

namespace backup_doctor::rsync {

using sdk::capped;
using sdk::context_cancelled;
using sdk::duration_param;
using sdk::Findings;
using sdk::human_size;
using sdk::shell_quote;
using sdk::string_list;
using sdk::user_name;
namespace {

namespace fs = std::filesystem;
using sdk::Status;

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["source", "destination"],
  "properties": {
    "source": {
      "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
      ],
      "description": "The job's source argument(s), exactly as the job passes them (a trailing slash matters to rsync)."},
    "destination": {"type": "string", "minLength": 1,
      "description": "The job's destination argument: a local path, `[user@]host:path` or an rsync daemon URL."},
    "args": {"type": "array", "items": {"type": "string"}, "default": ["-a"],
      "description": "The job's own rsync options, one per element (e.g. [\"-aHAX\", \"--delete\", \"-e\", \"ssh -i /etc/backup/id_ed25519\"]). Options that would write even in a dry run (--log-file, --write-batch) or change the output (--quiet, --out-format, --info, --progress) are left out and listed in details, also as remote options (-M). Refused, with the reason: options the check does not know, a remote shell other than ssh or ssh options that run a command, write or fork (ProxyCommand, -E, -f, ControlMaster...), a --rsync-path with shell syntax, and, when the dry run runs as root (no run_as), options that follow links (-L, -k, -K) or read files or per-directory filter files that another account can change (--files-from, --exclude-from, merge filters, -F, -C). Default [\"-a\"]."},
    "rsync": {"type": "string", "minLength": 1, "default": "rsync",
      "description": "The rsync program (name on PATH or absolute path). As root without run_as, a program that anyone but root can change is refused. Default \"rsync\"."},
    "run_as": {"type": "string", "minLength": 1,
      "description": "Run the dry run (and the access probe) as this user, the account the real job uses. Default: the user backup-doctor runs as, which as root can read everything and so hides permission problems."},
    "timeout": {"$ref": "bd:duration", "default": "10m",
      "description": "Kill the dry run after this long. Default \"10m\"."},
    "probe_access": {"type": "boolean", "default": true,
      "description": "After the dry run, open each file it would send (read-only, nothing is read) and test the local destination for write access, as run_as: a dry run never opens files, so this is how an unreadable file (code 23 in the real run) is found. Default true."},
    "probe_max_files": {"type": "integer", "minimum": 0, "default": 100000,
      "description": "Probe at most this many files. Default 100000."},
    "daemon_password": {"type": "string",
      "description": "Password for an rsync daemon source or destination, handed to rsync in a file only the rsync process's user can read (--password-file; never in its environment or command line, never shown). Use {\"secret\": {\"env\": \"NAME\"}}."},
    "warn_transfer_files": {"type": "integer", "minimum": 0,
      "description": "Warn when more than this many files would be transferred: the last sync is far behind. No default (no warning)."},
    "warn_transfer_bytes": {"type": "integer", "minimum": 0,
      "description": "Warn when more than this many bytes would be transferred. No default (no warning)."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "How many offending paths to list per kind in details. Default 20."}
  }
})";

bool under(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  std::string d = dir.back() == '/' ? dir : dir + "/";
  return path == dir || path.rfind(d, 0) == 0;
}

// Where an itemized name lives on the sending side. rsync prints names relative to the
// transfer root: inside "src/" for a source with a trailing slash, starting with "src" for one
// without, the whole path for --relative.
std::string local_path_for(const std::string& name, const std::vector<std::string>& sources,
                           bool relative) {
  for (const auto& s : sources) {
    std::vector<std::string> candidates;
    if (relative) {
      candidates.push_back((name.rfind('/', 0) == 0 ? "" : "/") + name);
      candidates.push_back(name);
    } else if (!s.empty() && s.back() == '/') {
      candidates.push_back(s + name);
    } else {
      fs::path parent = fs::path(s).parent_path();
      candidates.push_back((parent.empty() ? fs::path(name) : parent / name).string());
    }
    for (const auto& c : candidates) {
      struct stat st {};
      if (lstat(c.c_str(), &st) == 0) return c;
    }
  }
  return {};
}

std::string fix_for_unreadable(const std::string& path, const std::string& user) {
  struct stat st {};
  bool dir = stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  return "setfacl -m u:" + user + (dir ? ":rx " : ":r ") + shell_quote(path);
}

// "2 unreadable: /a, /b" with at most `max` names shown.
std::string list_text(const std::vector<std::string>& paths, size_t max) {
  std::string out;
  for (size_t i = 0; i < paths.size() && i < max; ++i) out += (i ? ", " : "") + paths[i];
  if (paths.size() > max) out += ", ... (" + std::to_string(paths.size() - max) + " more)";
  return out;
}

json path_group(const std::vector<std::string>& paths, size_t max) {
  return {{"paths", capped(paths, max)}, {"count", paths.size()}};
}

const char* kSetRunAs =
    "Set run_as to the account the job runs as: the dry run then reads and follows only what "
    "that account may (and finds the permission problems root would hide).";

// As root, rsync opens the top-level paths itself: a link the backup account made there would
// send it into directories that account cannot read, and list them.
std::vector<OptionRefusal> root_path_refusals(const std::vector<std::string>& sources,
                                              const std::string& destination, const JobArgs& job) {
  std::vector<OptionRefusal> out;
  auto check = [&](const std::string& what, const std::string& path, bool follow) {
    if (parse_location(path).kind != Location::Kind::local) return;
    if (std::string risk = tree_risk(path, follow); !risk.empty())
      out.push_back({what + " " + path, "as root, rsync would open it, but " + risk,
                     "Point the job at the real directory, or: " + std::string(kSetRunAs)});
  };
  for (const auto& s : sources) check("source", s, !s.empty() && s.back() == '/');
  check("destination", destination, true);
  for (const auto& d : job.local_dirs)
    check("comparison directory (--compare-dest, --copy-dest, --link-dest)", d, true);
  return out;
}

void report_refusals(sdk::Context& ctx, const std::vector<OptionRefusal>& refused,
                     const std::string& user_name) {
  const OptionRefusal& first = refused.front();
  std::string summary = "The dry run does not accept " + first.option + ": " + first.why;
  if (refused.size() > 1)
    summary += " (and " + std::to_string(refused.size() - 1) + " more refused)";
  std::string remediation;
  json list = json::array();
  for (const auto& r : refused) {
    list.push_back({{"option", r.option}, {"reason", r.why}, {"fix", r.fix}});
    std::string line = (refused.size() > 1 ? r.option + ": " : std::string()) + r.fix;
    if (remediation.find(line) == std::string::npos)
      remediation += (remediation.empty() ? "" : "\n") + line;
  }
  ctx.report(Status::error, summary, remediation,
             {{"refused", list}, {"run_as", user_name}, {"ran", false}});
}

void report_start_failure(sdk::Context& ctx, const support::ProcessResult& r, json details) {
  if (r.refused_untrusted) {
    ctx.report(Status::error, "Refused to run " + r.program + ": " + r.start_error,
               "Point 'rsync' at a program only root can change (the system's rsync, e.g. "
               "/usr/bin/rsync), or set run_as so that the dry run runs as the job's account.",
               details);
    return;
  }
  ctx.report(Status::error, "Could not run rsync: " + r.start_error,
             "Install rsync (`apt-get install rsync`) or set the 'rsync' parameter to its path.",
             details);
}

bool talks_to_daemon(const std::vector<std::string>& sources, const std::string& destination) {
  if (parse_location(destination).kind == Location::Kind::daemon) return true;
  return std::any_of(sources.begin(), sources.end(), [](const std::string& s) {
    return parse_location(s).kind == Location::Kind::daemon;
  });
}

// The job as this check runs it, read once from the parameters.
struct DryRunJob {
  std::vector<std::string> sources;
  std::string destination;
  std::string program;
  std::optional<support::UserIds> run_as;
  bool as_root = false;
  bool own_password = false;
  JobArgs job;
  std::chrono::milliseconds timeout{};
  bool probe = true;
  size_t probe_max = 100000;
  size_t max_items = 20;
  std::string user_name;
  // The account the real job runs as, when the check knows it: run_as, else the account
  // backup-doctor runs as, unless that is root standing in for an account not named.
  std::optional<support::UserIds> job_user;
  bool dest_local = false;
};

DryRunJob read_job(const json& params) {
  DryRunJob j;
  j.sources = string_list(params, "source");
  j.destination = params.at("destination").get<std::string>();
  j.program = params.value("rsync", std::string("rsync"));
  j.run_as = user_param(params, "run_as");
  j.as_root = !j.run_as && geteuid() == 0;
  const bool daemon = talks_to_daemon(j.sources, j.destination);
  j.own_password = params.contains("daemon_password") && daemon;
  j.job = filter_job_args(params.value("args", std::vector<std::string>{"-a"}),
                          {j.as_root, j.own_password});
  j.timeout = duration_param(params, "timeout", "10m");
  j.probe = params.value("probe_access", true);
  j.probe_max = params.value("probe_max_files", size_t{100000});
  j.max_items = params.value("max_items", size_t{20});
  j.user_name = j.run_as ? j.run_as->name : current_user().name;
  if (j.run_as)
    j.job_user = j.run_as;
  else if (!j.as_root)
    j.job_user = current_user();
  return j;
}

// Reports the options and paths the dry run will not touch; true when there were any.
bool report_any_refusals(const DryRunJob& j, sdk::Context& ctx) {
  std::vector<OptionRefusal> refused = j.job.refused;
  if (j.as_root)
    for (auto& r : root_path_refusals(j.sources, j.destination, j.job)) refused.push_back(r);
  if (refused.empty()) return false;
  report_refusals(ctx, refused, j.user_name);
  return true;
}

std::vector<std::string> dry_run_argv(const DryRunJob& j,
                                      const std::optional<PrivateFile>& password) {
  std::vector<std::string> argv{j.program};
  argv.insert(argv.end(), j.job.args.begin(), j.job.args.end());
  if (password) argv.push_back("--password-file=" + password->path());
  // After the job's options so they win: --no-h keeps --stats numbers plain.
  for (const char* a : {"--dry-run", "--itemize-changes", "--stats", "--no-h", "--"})
    argv.emplace_back(a);
  argv.insert(argv.end(), j.sources.begin(), j.sources.end());
  argv.push_back(j.destination);
  return argv;
}

// Runs rsync --dry-run; `argv` receives the command line it ran.
support::ProcessResult run_dry_run(const DryRunJob& j, const json& params, sdk::Context& ctx,
                                   std::vector<std::string>& argv) {
  std::optional<PrivateFile> password;
  if (j.own_password)
    password.emplace("rsync-password", params["daemon_password"].get<std::string>() + "\n",
                     j.run_as);
  argv = dry_run_argv(j, password);

  support::ProcessOptions opts;
  opts.timeout = j.timeout;
  opts.as_user = j.run_as;
  opts.cwd = "/";
  opts.env["LC_ALL"] = "C";  // rsync's messages and numbers in the form we parse
  opts.cancelled = &context_cancelled;
  opts.cancelled_arg = &ctx;

  ctx.info("running: " + [&] {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
    return s;
  }());
  auto r = support::run_process(argv, opts);
  password.reset();  // rsync has read it
  return r;
}

// A run that did not end on its own (not started, timed out, killed) is reported here, and the
// caller stops: true. Throws when the check was cancelled.
bool report_unfinished_run(const DryRunJob& j, const support::ProcessResult& r, sdk::Context& ctx,
                           json& details) {
  if (!r.started) {
    report_start_failure(ctx, r, details);
    return true;
  }
  if (r.cancelled) throw sdk::CheckError("cancelled");
  details["duration_seconds"] = static_cast<double>(r.elapsed.count()) / 1000.0;
  ctx.metric("dry_run_duration", static_cast<double>(r.elapsed.count()) / 1000.0, "seconds");
  if (r.timed_out) {
    details["stderr"] = r.err.substr(0, 4000);
    ctx.report(Status::error,
               "The rsync dry run did not finish within " + format_duration(j.timeout),
               "Either the tree is too large for this timeout (raise 'timeout') or rsync hangs: "
               "a remote side that stopped answering, or a stuck network filesystem in the "
               "source. Add --timeout=300 to the job so a stalled real run ends with code 30 "
               "instead of hanging.",
               details);
    return true;
  }
  if (r.signal != 0) {
    ctx.report(Status::error, "rsync was killed by signal " + std::to_string(r.signal),
               "Something killed rsync during the dry run (out-of-memory killer?); check "
               "`journalctl -k` for the reason.",
               details);
    return true;
  }
  return false;
}

// What a finished dry run said: its code, the transfer it would make, the paths it complained
// about (grouped by kind).
struct DryRunOutput {
  ExitCodeInfo code;
  TransferStats stats;
  Itemized items;
  uint64_t transfer_files = 0;
  StderrReport report;
  std::map<std::string, std::vector<std::string>> by_kind;
};

void record_transfer(const support::ProcessResult& r, const DryRunOutput& out, sdk::Context& ctx,
                     json& details) {
  const TransferStats& stats = out.stats;
  const Itemized& items = out.items;
  if (stats.transferred_files || !items.sent_files.empty() || r.exit_code == 0) {
    details["would_transfer_files"] = out.transfer_files;
    details["would_delete_files"] = stats.deleted_files.value_or(items.deletions);
    details["itemized_changes"] = items.changed;
    ctx.metric("transfer_files", static_cast<double>(out.transfer_files), "count");
    ctx.metric("delete_files", static_cast<double>(stats.deleted_files.value_or(items.deletions)),
               "count");
  }
  if (stats.transferred_size) {
    details["would_transfer_bytes"] = *stats.transferred_size;
    ctx.metric("transfer_size", static_cast<double>(*stats.transferred_size), "bytes");
  }
  if (stats.files) {
    details["source_entries"] = *stats.files;
    details["source_files"] = stats.regular_files.value_or(*stats.files);
    ctx.metric("source_files", static_cast<double>(stats.regular_files.value_or(*stats.files)),
               "count");
  }
  if (stats.total_size) {
    details["source_bytes"] = *stats.total_size;
    ctx.metric("source_size", static_cast<double>(*stats.total_size), "bytes");
  }
}

void record_stderr(const DryRunOutput& out, size_t max_items, json& details) {
  json issues = json::object();
  for (const auto& [kind, paths] : out.by_kind) issues[kind] = path_group(paths, max_items);
  if (!issues.empty()) details["issues"] = issues;
  if (!out.report.rsync_error_line.empty()) details["rsync_error"] = out.report.rsync_error_line;
  if (!out.report.other_lines.empty())
    details["other_errors"] = capped(out.report.other_lines, max_items);
}

// Parses the output and records its facts in details and metrics, in that order.
DryRunOutput gather_output(const support::ProcessResult& r, size_t max_items, sdk::Context& ctx,
                           json& details) {
  DryRunOutput out;
  out.code = describe_exit_code(r.exit_code);
  details["exit_code"] = r.exit_code;
  details["exit_code_name"] = out.code.name;
  details["exit_code_meaning"] = out.code.meaning;
  ctx.metric("exit_code", r.exit_code, "");

  out.stats = parse_stats(r.out);
  out.items = parse_itemized(r.out);
  out.transfer_files = out.stats.transferred_files.value_or(out.items.sent_files.size());
  record_transfer(r, out, ctx, details);

  // What rsync said about individual paths, grouped by kind.
  out.report = parse_stderr(r.err);
  for (const auto& issue : out.report.issues) out.by_kind[issue.kind].push_back(issue.path);
  record_stderr(out, max_items, details);
  return out;
}

// The short description of each kind of complaint, and the fix for it where there is one.
struct IssueText {
  std::vector<std::string> specifics;
  std::vector<std::string> fixes;
};

// Permission denied on the sending side (unreadable) or in a local destination (unwritable).
void describe_permission_denied(const DryRunJob& j, const std::vector<std::string>& paths,
                                IssueText& text) {
  const std::string& user_name = j.user_name;
  std::vector<std::string> read_side, write_side;
  for (const auto& p : paths)
    (j.dest_local && under(p, j.destination) ? write_side : read_side).push_back(p);
  if (!read_side.empty()) {
    text.specifics.push_back(std::to_string(read_side.size()) + " unreadable for '" + user_name +
                             "': " + list_text(read_side, 3));
    std::string cmds;
    for (size_t i = 0; i < read_side.size() && i < 3; ++i)
      cmds += (i ? "; " : "") + fix_for_unreadable(read_side[i], user_name);
    text.fixes.push_back("Let '" + user_name + "' read what it must copy: `" + cmds + "`" +
                         (read_side.size() > 3
                              ? " (and likewise for the other " +
                                    std::to_string(read_side.size() - 3) + " paths in details)"
                              : "") +
                         ", or exclude paths that need not be backed up.");
  }
  if (!write_side.empty()) {
    text.specifics.push_back(std::to_string(write_side.size()) +
                             " not writable in the "
                             "destination: " +
                             list_text(write_side, 3));
    text.fixes.push_back("Give '" + user_name + "' write access in the destination: `chown -R " +
                         user_name + " " + shell_quote(j.destination) + "`.");
  }
}

void describe_issue_kind(const DryRunJob& j, const std::string& kind,
                         const std::vector<std::string>& paths, IssueText& text) {
  std::string n = std::to_string(paths.size());
  if (kind == "permission_denied") {
    describe_permission_denied(j, paths, text);
  } else if (kind == "missing") {
    text.specifics.push_back(n + " missing: " + list_text(paths, 3));
    text.fixes.push_back("These paths do not exist: " + list_text(paths, 3) +
                         ". Correct the job's source/destination, mount the volume that should "
                         "hold them, or drop stale entries from --files-from.");
  } else if (kind == "vanished") {
    text.specifics.push_back(n + " vanished while listed: " + list_text(paths, 3));
  } else if (kind == "no_space" || kind == "quota_exceeded") {
    text.specifics.push_back(n + (kind == "no_space" ? " hit a full disk: " : " hit a quota: ") +
                             list_text(paths, 3));
    text.fixes.push_back("Free space (or raise the quota) on the destination filesystem.");
  } else if (kind == "not_permitted") {
    text.specifics.push_back(n + " with attributes that could not be set: " + list_text(paths, 3));
    text.fixes.push_back("'" + j.user_name +
                         "' may not set owners/permissions there: run the job "
                         "as root on the receiving side, or drop -o/-g (or use --no-perms) if "
                         "ownership need not be preserved.");
  } else {
    text.specifics.push_back(n + " " + kind + ": " + list_text(paths, 3));
  }
}

// Through a remote shell, the real cause is ssh's message, whatever code rsync settles on
// (12 or 255 depending on how ssh ended): it then replaces the remediation.
void blame_ssh_if_it_failed(const support::ProcessResult& r, std::string& summary,
                            std::string& remediation, json& details) {
  SshFailure ssh =
      r.err.find("ssh") != std::string::npos ? classify_ssh_error(r.err) : SshFailure::other;
  if (ssh == SshFailure::other || r.exit_code == 23 || r.exit_code == 24) return;
  details["ssh_failure"] = ssh_failure_name(ssh);
  std::string line = ssh_error_excerpt(r.err, 1);
  summary += ": ssh failed (" + std::string(ssh_failure_name(ssh)) + "): " + line;
  remediation = "The remote shell could not log in: " + line +
                ". Run the rsync.remote check against this destination for the cause and "
                "the fix (it tells refused, timeout, host key and authentication apart).";
}

// A non-zero exit code: its meaning, the first complaints, and the fixes for them.
void add_exit_code_finding(const DryRunJob& j, const support::ProcessResult& r, DryRunOutput& out,
                           Findings& f, json& details) {
  std::string summary = "rsync dry run ended with code " + std::to_string(r.exit_code) + " (" +
                        out.code.meaning + ")";
  std::string remediation =
      std::string("rsync code ") + std::to_string(r.exit_code) + ": " + out.code.advice;
  IssueText text;
  for (const auto& [kind, paths] : out.by_kind) describe_issue_kind(j, kind, paths, text);
  if (!text.specifics.empty()) summary += ": " + text.specifics.front();
  if (text.specifics.size() > 1) summary += "; " + text.specifics[1];
  for (const auto& fx : text.fixes) remediation += " " + fx;
  if (r.exit_code == 24)
    summary = std::to_string(out.by_kind["vanished"].size()) +
              " source file(s) vanished during the dry run (code 24): " +
              list_text(out.by_kind["vanished"], 3);
  if (r.exit_code == 1 && !out.report.other_lines.empty())
    summary += ": " + out.report.other_lines.front();
  blame_ssh_if_it_failed(r, summary, remediation, details);
  f.add(out.code.status, summary, remediation);
}

// The code the real run is expected to end with. rsync itself settles on the most serious one:
// a failure that stops the run (11: the destination cannot be created) over a partial
// transfer (23) over vanished files (24) over success.
struct PredictedExitCode {
  int code = 0;
  static int severity(int c) { return c == 0 ? 0 : c == 24 ? 1 : c == 23 ? 2 : 3; }
  void expect(int c) {
    if (severity(c) > severity(code)) code = c;
  }
};

// The local files the dry run would send, at most probe_max of them.
std::vector<std::string> files_to_probe(const DryRunJob& j, const Itemized& items) {
  std::vector<std::string> local_sources;
  for (const auto& s : j.sources)
    if (parse_location(s).kind == Location::Kind::local) local_sources.push_back(s);
  std::vector<std::string> files;
  for (const auto& name : items.sent_files) {
    if (files.size() >= j.probe_max) break;
    std::string p = local_path_for(name, local_sources, j.job.relative);
    if (!p.empty()) files.push_back(p);
  }
  return files;
}

// The local directory the real run writes into: the destination, or its parent when rsync
// would create it. Sets `missing_parent` when neither exists (and --mkpath is not given).
std::vector<std::string> dirs_to_probe(const DryRunJob& j, std::string& missing_parent) {
  std::vector<std::string> dirs;
  if (!j.dest_local) return dirs;
  struct stat st {};
  if (stat(j.destination.c_str(), &st) == 0) {
    dirs.push_back(j.destination);
    return dirs;
  }
  fs::path parent = fs::path(j.destination).lexically_normal();
  if (!parent.has_filename()) parent = parent.parent_path();
  parent = parent.parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (fs::is_directory(parent, ec))
    dirs.push_back(parent.string());
  else if (!j.job.mkpath)
    missing_parent = parent.string();
  return dirs;
}

// Creating the missing parent as root with `mkdir -p` would leave it root's, and the job
// could not write there: the command makes it the job account's (install -d leaves the
// directories above it root's, mode 0755, which is what they would be anyway).
std::string missing_parent_fix(const DryRunJob& j, const std::string& dir) {
  const std::string keep_going =
      ", mount the backup volume if it belongs on one, or add --mkpath to the job.";
  if (!j.job_user)
    return "rsync creates only the last directory of the destination. Create " + dir +
           " owned by the account the backup job runs as, as root: `install -d -o BACKUP_USER "
           "-g BACKUP_GROUP " +
           shell_quote(dir) +
           "` with that account's user and group (a plain `mkdir -p` would leave it root's, "
           "and the job could not write there)" +
           keep_going + " Setting run_as to that account lets this check name it.";
  const support::UserIds& u = *j.job_user;
  const std::string why = u.uid == 0 ? ""
                                     : " (a plain `mkdir -p` would leave it root's, and '" +
                                           u.name + "' could not write there)";
  return "rsync creates only the last directory of the destination. Create " + dir + " for '" +
         u.name + "', the account the job runs as, as root: `install -d -o " + shell_quote(u.name) +
         " -g " + shell_quote(sdk::group_name(u.gid)) + " " + shell_quote(dir) + "`" + why +
         keep_going;
}

void add_missing_parent(const DryRunJob& j, const std::string& missing_parent, Findings& f,
                        PredictedExitCode& predicted, json& details) {
  details["destination_parent_missing"] = missing_parent;
  predicted.expect(11);
  f.add(Status::fail,
        "The real run would fail (code 11): the destination's parent " + missing_parent +
            " does not exist",
        missing_parent_fix(j, missing_parent));
}

void add_unreadable(const DryRunJob& j, const std::vector<std::string>& unreadable, Findings& f,
                    PredictedExitCode& predicted, json& probe_details) {
  const std::string& user_name = j.user_name;
  probe_details["unreadable"] = path_group(unreadable, j.max_items);
  predicted.expect(23);
  std::string cmds;
  for (size_t i = 0; i < unreadable.size() && i < 3; ++i)
    cmds += (i ? "; " : "") + fix_for_unreadable(unreadable[i], user_name);
  f.add(Status::fail,
        std::to_string(unreadable.size()) +
            " file(s) the job would send are unreadable "
            "for '" +
            user_name + "' (the real run ends with code 23): " + list_text(unreadable, 3),
        "The dry run cannot notice this because it never opens files. Grant read "
        "access: `" +
            cmds + "`" + (unreadable.size() > 3 ? " (and the other paths listed in details)" : "") +
            ", run the job as a user that can read them, or exclude them.");
}

void add_unwritable(const DryRunJob& j, const std::vector<std::string>& unwritable, Findings& f,
                    PredictedExitCode& predicted, json& probe_details) {
  const std::string& user_name = j.user_name;
  probe_details["unwritable"] = path_group(unwritable, j.max_items);
  const std::string& d = unwritable.front();
  bool exists = d == j.destination;
  predicted.expect(exists ? 23 : 11);
  struct stat st {};
  stat(d.c_str(), &st);
  auto owner = support::lookup_user(std::to_string(st.st_uid));
  f.add(Status::fail,
        std::string("The real run would fail (code ") + (exists ? "23" : "11") + "): " + d +
            " is not writable by '" + user_name + "'",
        d + " belongs to " + (owner ? owner->name : std::to_string(st.st_uid)) + ". " +
            (exists ? "`chown " + user_name + " " + shell_quote(d) + " && chmod u+rwx " +
                          shell_quote(d) + "`"
                    : "Create the destination for the backup user: `install -d -o " + user_name +
                          " " + shell_quote(j.destination) + "`") +
            ", or run the job as a user that may write there.");
}

// Opens the files and tests the directories as the job's user; adds what it would trip over.
json probe_as_user(const DryRunJob& j, const std::vector<std::string>& files,
                   const std::vector<std::string>& dirs, Findings& f,
                   PredictedExitCode& predicted) {
  json probe_details = {{"run_as", j.user_name}};
  if (j.as_root) {
    probe_details["skipped"] =
        "running as root without run_as: root can read and write "
        "everything, so the probe would prove nothing";
    return probe_details;
  }
  ProbeResult pr = probe_access(j.run_as, files, dirs);
  probe_details["tested"] = pr.tested;
  if (!pr.tested) {
    probe_details["reason"] = pr.reason;
    return probe_details;
  }
  probe_details["files_checked"] = pr.files_checked;
  probe_details["dirs_checked"] = pr.dirs_checked;
  std::vector<std::string> unreadable, unwritable;
  for (const auto& fl : pr.failures) (fl.write ? unwritable : unreadable).push_back(fl.path);
  // The destination first: a destination that cannot be created (11) is the code the run ends
  // with, and so leads the summary.
  if (!unwritable.empty()) add_unwritable(j, unwritable, f, predicted, probe_details);
  if (!unreadable.empty()) add_unreadable(j, unreadable, f, predicted, probe_details);
  return probe_details;
}

// The access probe: what the real run would trip over, and the code it would end with.
void probe_real_run(const DryRunJob& j, const Itemized& items, Findings& f,
                    PredictedExitCode& predicted, json& details) {
  std::vector<std::string> files = files_to_probe(j, items);
  std::string missing_parent;
  std::vector<std::string> dirs = dirs_to_probe(j, missing_parent);
  if (!missing_parent.empty()) add_missing_parent(j, missing_parent, f, predicted, details);
  details["probe"] = probe_as_user(j, files, dirs, f, predicted);
}

void append_findings(const Findings& from, Findings& to) {
  for (const auto& item : from.items()) to.add(item.status, item.summary, item.remediation);
}

// Beside exit_code (what the dry run itself ended with), so that an alert on either sees what
// the summary says.
void record_predicted_exit_code(int code, sdk::Context& ctx, json& details) {
  details["predicted_exit_code"] = code;
  details["predicted_exit_code_name"] = describe_exit_code(code).name;
  ctx.metric("predicted_exit_code", code, "");
}

// Drift: how far the destination is behind.
void check_drift(const json& params, const DryRunOutput& out, Findings& f) {
  const TransferStats& stats = out.stats;
  if (params.contains("warn_transfer_files") &&
      out.transfer_files > params["warn_transfer_files"].get<uint64_t>())
    f.add(Status::warn,
          std::to_string(out.transfer_files) + " files would be transferred (threshold " +
              std::to_string(params["warn_transfer_files"].get<uint64_t>()) + ")",
          "The destination is far behind the source: check that the scheduled job really "
          "runs (cron/systemd timer logs) and completes.");
  if (params.contains("warn_transfer_bytes") && stats.transferred_size &&
      *stats.transferred_size > params["warn_transfer_bytes"].get<uint64_t>())
    f.add(Status::warn,
          human_size(*stats.transferred_size) + " would be transferred (threshold " +
              human_size(params["warn_transfer_bytes"].get<uint64_t>()) + ")",
          "The destination is far behind the source: check that the scheduled job really "
          "runs (cron/systemd timer logs) and completes.");
}

std::string ok_summary(const DryRunOutput& out) {
  return "rsync dry run succeeded: " + std::to_string(out.transfer_files) + " file(s)" +
         (out.stats.transferred_size ? ", " + human_size(*out.stats.transferred_size) : "") +
         " would be transferred";
}

void run(const json& params, sdk::Context& ctx) {
  DryRunJob j = read_job(params);
  if (report_any_refusals(j, ctx)) return;
  std::vector<std::string> argv;
  const auto r = run_dry_run(j, params, ctx, argv);

  json details = {{"command", argv}, {"run_as", j.user_name}};
  if (!j.job.ignored.empty()) details["ignored_args"] = j.job.ignored;
  if (report_unfinished_run(j, r, ctx, details)) return;

  DryRunOutput out = gather_output(r, j.max_items, ctx, details);
  j.dest_local = parse_location(j.destination).kind == Location::Kind::local;

  // The real run ends as the dry run did, unless the probe finds something worse.
  PredictedExitCode predicted{r.exit_code};
  Findings probe_findings;
  const bool listed = r.exit_code == 0 || r.exit_code == 23 || r.exit_code == 24;
  if (j.probe && listed) probe_real_run(j, out.items, probe_findings, predicted, details);
  record_predicted_exit_code(predicted.code, ctx, details);

  // The finding that settles the predicted code comes first, so the summary names that code.
  Findings f;
  const bool probe_settles = predicted.code != r.exit_code;
  if (probe_settles) append_findings(probe_findings, f);
  if (r.exit_code != 0) add_exit_code_finding(j, r, out, f, details);
  if (!probe_settles) append_findings(probe_findings, f);
  if (r.exit_code == 0 || r.exit_code == 24) check_drift(params, out, f);
  f.report(ctx, ok_summary(out), details);
}

}  // namespace

sdk::CheckType dry_run_check() {
  return {
      .type = "rsync.dry_run",
      .summary =
          "Runs the job's rsync command with --dry-run and diagnoses its exit code and errors",
      .doc =
          "Runs the real `rsync --dry-run --itemize-changes --stats` with the job's own options, "
          "sources and destination (no shell, with a timeout, optionally as the job's user) and "
          "maps rsync's exit code to a diagnosis: 1 syntax, 2 protocol, 3 file selection, 4 "
          "unsupported action, 5 daemon protocol start, 6 daemon log, 10 socket I/O, 11 file "
          "I/O, 12 protocol stream, 13 diagnostics, 14 IPC, 20 signal, 21 waitpid, 22 memory, 23 "
          "partial transfer, 24 vanished files (warning), 25 --max-delete (warning), 30 I/O "
          "timeout, 35 daemon connect timeout, plus 127/255 from the remote shell. The paths "
          "rsync complained about (permission denied, missing, vanished, disk full) are listed "
          "with a count.\n\nHow many files and bytes would move is the drift since the last sync "
          "and is exported as metrics; optional thresholds turn a large drift into a warning.\n\n"
          "A dry run never opens file contents nor creates anything, so by itself it misses "
          "unreadable files and an unwritable destination. Unless disabled, the check then opens "
          "every file the run would send (read-only, nothing is read) and asks for write access "
          "to the local destination, as the job's user, and reports the code the real run "
          "would end with. A destination whose parent is missing gets the command that "
          "creates it for the job's account (`install -d -o USER -g GROUP DIR`, as root; a "
          "placeholder account when run_as is not set and the check runs as root).\n\n"
          "`details.exit_code` and the `exit_code` metric are the code the dry run itself "
          "ended with; `details.predicted_exit_code` (with `predicted_exit_code_name`) and the "
          "`predicted_exit_code` metric are the code the real run is expected to end with: the "
          "dry run's own, or the probe's when that is worse (11 for a destination that cannot "
          "be created, 23 for unreadable files or an unwritable destination), 0 when neither "
          "finds a problem. Both are present whenever rsync ran to its end, and the summary "
          "leads with the finding that settles the predicted code.\n\nrsync runs some options "
          "even in a dry run, so every job option is classified: options that write (--log-file, "
          "--write-batch) or change the output are "
          "left out and listed, also as remote options (-M); options the check does not know, "
          "a remote shell other than plain ssh, ssh options that run a command, write or fork, "
          "and a --rsync-path with shell syntax are refused with the reason. Run as root "
          "without run_as, options that follow links or read files (or per-directory filter "
          "files) that another account can change are refused too, and so are sources and "
          "destinations reached through a link another account made. The daemon password "
          "reaches rsync in a private file (--password-file), never in its environment.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::rsync
