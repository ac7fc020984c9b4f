// files.tools: the commands the backup scripts rely on are on PATH (the PATH the job really
// runs with, which under cron is short), at a recent enough version, and runnable by the
// backup user.
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/user_access.hpp>
#include "file_facts.hpp"
#include "version.hpp"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <map>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::duration_param;
using sdk::required_string;
using sdk::string_list;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["tools"],
  "properties": {
    "tools": {"type": "array", "minItems": 1,
              "items": {"anyOf": [{"type": "string", "minLength": 1}, {
      "type": "object",
      "additionalProperties": false,
      "required": ["name"],
      "properties": {
        "name": {"type": "string", "minLength": 1,
                 "description": "Command name looked up on the search path (or an absolute path)."},
        "min_version": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)*$",
                        "description": "Lowest acceptable version, e.g. \"15\" or \"3.2.7\". Not set by default: any version."},
        "version_args": {"type": "array", "items": {"type": "string"}, "default": ["--version"],
                         "description": "Arguments that make the tool print its version; [] skips running it. Default: [\"--version\"]."},
        "version_regex": {"type": "string", "minLength": 1,
                          "description": "ECMAScript regex whose first group is the version in that output. Default: the first dotted number."},
        "package": {"type": "string", "minLength": 1,
                    "description": "Debian package that provides it, named in the remediation. Default: known for common backup tools."}
      }
    }]},
              "description": "Commands that must be available: names (\"tar\") or objects ({\"name\": \"pg_dump\", \"min_version\": \"15\", \"package\": \"postgresql-client\"})."},
    "search_path": {"type": "string", "minLength": 1,
                    "description": "PATH to search, e.g. \"/usr/bin:/bin\" for what cron gives a job. Default: backup-doctor's own PATH."},
    "user": {"type": "string", "minLength": 1,
             "description": "Also check that this user (the backup job's account) can execute each tool, and run the version command as that user (needs root). Not set by default."},
    "timeout": {"$ref": "bd:duration", "default": "10s",
                "description": "Time limit for each version command. Default: \"10s\"."}
  }
})";

// Debian packages for the commands the backup guide and common backup scripts use.
const std::map<std::string, std::string>& known_packages() {
  static const std::map<std::string, std::string> m = {
      {"7z", "p7zip-full"},
      {"aria2c", "aria2"},
      {"ausearch", "auditd"},
      {"aws", "awscli"},
      {"borg", "borgbackup"},
      {"bzip2", "bzip2"},
      {"createdb", "postgresql-client"},
      {"crontab", "cron"},
      {"curl", "curl"},
      {"df", "coreutils"},
      {"dropdb", "postgresql-client"},
      {"du", "coreutils"},
      {"duplicity", "duplicity"},
      {"find", "findutils"},
      {"findmnt", "util-linux"},
      {"free", "procps"},
      {"getfacl", "acl"},
      {"gpg", "gpg"},
      {"gunzip", "gzip"},
      {"gzip", "gzip"},
      {"ionice", "util-linux"},
      {"iostat", "sysstat"},
      {"iotop", "iotop"},
      {"iptables", "iptables"},
      {"lz4", "lz4"},
      {"mbuffer", "mbuffer"},
      {"md5sum", "coreutils"},
      {"mysqldump", "default-mysql-client"},
      {"nc", "netcat-openbsd"},
      {"nslookup", "bind9-dnsutils"},
      {"openssl", "openssl"},
      {"pg_basebackup", "postgresql-client"},
      {"pg_dump", "postgresql-client"},
      {"pg_dumpall", "postgresql-client"},
      {"pg_restore", "postgresql-client"},
      {"pgrep", "procps"},
      {"pigz", "pigz"},
      {"psql", "postgresql-client"},
      {"pv", "pv"},
      {"rclone", "rclone"},
      {"restic", "restic"},
      {"restorecon", "policycoreutils"},
      {"rsync", "rsync"},
      {"s3cmd", "s3cmd"},
      {"scp", "openssh-client"},
      {"semanage", "policycoreutils-python-utils"},
      {"sestatus", "policycoreutils"},
      {"setfacl", "acl"},
      {"sftp", "openssh-client"},
      {"sha256sum", "coreutils"},
      {"sqlite3", "sqlite3"},
      {"ssh", "openssh-client"},
      {"tar", "tar"},
      {"telnet", "inetutils-telnet"},
      {"unzip", "unzip"},
      {"xz", "xz-utils"},
      {"zip", "zip"},
      {"zstd", "zstd"},
  };
  return m;
}

struct Tool {
  std::string name, min_version, version_regex, package;
  std::vector<std::string> version_args{"--version"};
};

Tool tool_from(const json& item) {
  Tool t;
  if (item.is_string()) {
    t.name = item.get<std::string>();
  } else if (item.is_object()) {
    t.name = required_string(item, "name");
    t.min_version = item.value("min_version", std::string());
    t.version_regex = item.value("version_regex", std::string());
    t.package = item.value("package", std::string());
    t.version_args = string_list(item, "version_args", {"--version"});
  } else {
    throw sdk::CheckError("each entry of 'tools' must be a name or an object with a name");
  }
  if (t.name.empty()) throw sdk::CheckError("a tool name is empty");
  if (t.name.find('/') != std::string::npos && t.name[0] != '/')
    throw sdk::CheckError("tool '" + t.name +
                          "' is a relative path: give a command name to look up on "
                          "search_path, or an absolute path");
  if (t.package.empty()) {
    std::string base = t.name.substr(t.name.find_last_of('/') + 1);
    if (auto it = known_packages().find(base); it != known_packages().end()) t.package = it->second;
  }
  return t;
}

// The entries of a PATH that name the working directory: empty ("::", a leading or trailing
// ':') and relative ones. The job's shell would search them; backup-doctor does not.
std::vector<std::string> cwd_entries(const std::string& search_path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string::npos) end = search_path.size();
    std::string dir = search_path.substr(start, end - start);
    if (dir.empty() || dir[0] != '/') out.push_back(dir.empty() ? "(empty)" : dir);
    start = end + 1;
  }
  return out;
}

std::string first_line(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return {};
  std::string line = text.substr(start, text.find('\n', start) - start);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

bool cancelled_cb(void* arg) {
  return static_cast<sdk::Context*>(arg)->cancelled();
}

struct Options {
  std::string search_path;
  std::chrono::milliseconds timeout{10'000};
  std::optional<support::UserIds> user;
};

// What the tools turned out to be, by kind of problem.
struct Tally {
  json results = json::array();
  std::vector<std::string> missing, outdated, unknown_version, not_executable;
  std::vector<std::string> not_run;  // "tar (/home/b/bin/tar: owned by ...)"
  bool not_run_needed_version = false;
  std::vector<std::string> upgrade_packages, upgrade_unknown;
  bool pg_tool_outdated = false;
  std::map<std::string, std::vector<std::string>> packages;  // package -> missing tools
  std::vector<std::string> no_package;
  std::string found_text;
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Runs the version command: as `user` when set; as root only a program that root alone can
// change (support::run_process refuses any other).
std::optional<std::string> read_version(const Tool& t, const std::string& path, const Options& o,
                                        sdk::Context& ctx, json& r, Tally& tally) {
  std::vector<std::string> argv{path};
  argv.insert(argv.end(), t.version_args.begin(), t.version_args.end());
  support::ProcessOptions po;
  po.timeout = o.timeout;
  po.as_user = o.user;
  po.max_output = 64 * 1024;
  po.cancelled = &cancelled_cb;
  po.cancelled_arg = &ctx;
  auto pr = support::run_process(argv, po);
  if (pr.cancelled) throw sdk::CheckError("cancelled");
  if (pr.refused_untrusted) {
    std::string why = support::untrusted_program_reason(path);
    r["version_command"] = "not run as root: " + why;
    r["not_run_because"] = why;
    tally.not_run.push_back(t.name + " (" + path + ": " + why + ")");
    tally.not_run_needed_version |= !t.min_version.empty();
    return std::nullopt;
  }
  r["version_command"] = pr.describe();
  r["version_output"] = first_line(pr.out + "\n" + pr.err);
  if (!pr.started || pr.timed_out) return std::nullopt;
  auto version = find_version(pr.out, t.version_regex);
  return version ? version : find_version(pr.err, t.version_regex);
}

void judge_version(const Tool& t, const std::optional<std::string>& version, json& r,
                   Tally& tally) {
  if (version) r["version"] = *version;
  if (t.min_version.empty()) return;
  if (!version) {
    if (!r.contains("not_run_because")) tally.unknown_version.push_back(t.name);
    r["version_ok"] = nullptr;
    return;
  }
  bool ok = compare_versions(*version, t.min_version) >= 0;
  r["version_ok"] = ok;
  if (ok) return;
  tally.outdated.push_back(t.name + " " + *version + " (need " + t.min_version + ")");
  if (t.package.empty())
    tally.upgrade_unknown.push_back(t.name);
  else if (std::find(tally.upgrade_packages.begin(), tally.upgrade_packages.end(), t.package) ==
           tally.upgrade_packages.end())
    tally.upgrade_packages.push_back(t.package);
  tally.pg_tool_outdated |= t.name.find("pg_") != std::string::npos;
}

void look_at(const Tool& t, const Options& o, sdk::Context& ctx, Tally& tally) {
  json r = {{"name", t.name}};
  if (!t.package.empty()) r["package"] = t.package;
  if (!t.min_version.empty()) r["min_version"] = t.min_version;
  // Absolute entries only: an empty or relative one would be the working directory.
  std::string path = support::find_program(t.name, o.search_path);
  r["found"] = !path.empty();
  if (path.empty()) {
    tally.missing.push_back(t.name);
    if (t.package.empty())
      tally.no_package.push_back(t.name);
    else
      tally.packages[t.package].push_back(t.name);
    tally.results.push_back(r);
    return;
  }
  r["path"] = path;
  if (o.user) {
    auto answer = support::test_access_as(*o.user, path, support::Access::execute);
    r["user_can_execute"] = answer.allowed;
    if (!answer.allowed) {
      tally.not_executable.push_back(t.name + " (" + path + ": " + answer.reason + ")");
      tally.results.push_back(r);
      return;
    }
  }
  std::optional<std::string> version;
  if (!t.version_args.empty()) version = read_version(t, path, o, ctx, r, tally);
  judge_version(t, version, r, tally);
  tally.found_text += std::string(tally.found_text.empty() ? "" : ", ") + t.name +
                      (version ? " " + *version : std::string());
  tally.results.push_back(r);
}

// Reads search_path, timeout and user; false when the check already ended (unknown user).
bool options_from(const json& params, sdk::Context& ctx, json& details, Options& o) {
  const char* env_path = std::getenv("PATH");
  o.search_path = params.value("search_path",
                               std::string(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin"));
  o.timeout = duration_param(params, "timeout", "10s");
  details["search_path"] = o.search_path;
  if (!params.contains("user")) return true;
  std::string name = required_string(params, "user");
  details["user"] = name;
  o.user = support::lookup_user(name);
  if (!o.user) {
    ctx.fail("user '" + name + "' does not exist on this host",
             "The backup job cannot run as an account that does not exist. Create it (useradd "
             "--system --no-create-home --shell /usr/sbin/nologin " +
                 name + ") or correct `user`.",
             details);
    return false;
  }
  if (geteuid() != 0 && geteuid() != o.user->uid) {
    ctx.report(sdk::Status::error, "cannot run tools as " + name + " without root",
               "Run backup-doctor as root (it switches to '" + name +
                   "' to run each tool), or drop `user` from this check.",
               details);
    return false;
  }
  return true;
}

std::string missing_remediation(const Tally& t, const std::string& search_path) {
  std::string remediation;
  if (!t.packages.empty()) {
    std::string pkgs, which_for;
    for (const auto& [pkg, names] : t.packages) {
      pkgs += " " + pkg;
      which_for += std::string(which_for.empty() ? "" : "; ") + pkg + " provides " + joined(names);
    }
    remediation += "Install the missing tools: apt-get install" + pkgs + " (" + which_for + "). ";
  }
  if (!t.no_package.empty())
    remediation += "No Debian package is known for " + joined(t.no_package) +
                   ": install it from its vendor, or set `package` in this check; if it is a "
                   "typo, correct the name. ";
  std::string shown_path = search_path.size() > 100 ? "the search path (see details)" : search_path;
  return remediation + "If a tool is installed outside " + shown_path +
         ", add its directory to the PATH the backup job runs with (cron jobs get only "
         "/usr/bin:/bin unless the crontab sets PATH=). ";
}

std::string outdated_remediation(const Tally& t) {
  std::string remediation;
  if (!t.upgrade_packages.empty()) {
    std::string pkgs;
    for (const auto& p : t.upgrade_packages) pkgs += " " + p;
    remediation += "Upgrade: apt-get install --only-upgrade" + pkgs +
                   " (or take a newer build from the vendor's repository when the "
                   "distribution's is too old). ";
  }
  if (!t.upgrade_unknown.empty())
    remediation += "Install a newer " + joined(t.upgrade_unknown) + " from its vendor. ";
  if (t.pg_tool_outdated)
    remediation +=
        "pg_dump and pg_restore must be at least as new as the PostgreSQL server "
        "they talk to. ";
  return remediation;
}

sdk::Findings findings_of(const Tally& t, const Options& o,
                          const std::vector<std::string>& cwd_dirs) {
  sdk::Findings out;
  if (!t.missing.empty())
    out.add(sdk::Status::fail, "missing: " + joined(t.missing),
            missing_remediation(t, o.search_path));
  if (!t.outdated.empty())
    out.add(sdk::Status::fail, "too old: " + joined(t.outdated), outdated_remediation(t));
  if (!t.not_executable.empty())
    out.add(sdk::Status::fail, o.user->name + " cannot execute: " + joined(t.not_executable),
            "Let " + o.user->name +
                " run these programs: check the mode of each file and of its directory "
                "(ls -ld), and any group restriction on them (chmod o+x, or add " +
                o.user->name + " to the owning group). ");
  if (!t.unknown_version.empty())
    out.add(sdk::Status::error, "could not read the version of " + joined(t.unknown_version),
            "Their version output did not contain a version number where expected (see "
            "version_output in the details): set `version_args` to the option that prints "
            "it, or `version_regex` to a regex whose first group captures it. ");
  if (!t.not_run.empty())
    out.add(t.not_run_needed_version ? sdk::Status::error : sdk::Status::warn,
            "version not read, because running it as root would run another account's code as "
            "root: " +
                joined(t.not_run),
            "Set `user` to the account the backup job runs as: backup-doctor then runs the version "
            "command as that account, as the job itself does. If the job runs as root, it runs "
            "these programs as root too, and whoever can change them owns the job: move each to a "
            "directory only root can change (install -o root -g root -m 0755 <file> "
            "/usr/local/bin/) and take the other account's directory off the job's PATH. ");
  if (!cwd_dirs.empty())
    out.add(sdk::Status::warn,
            "search_path has an empty entry or a relative one (" + joined(cwd_dirs) +
                "), which was not searched",
            "An empty or relative entry in a PATH means the working directory, so the "
            "job would run whatever program of that name lies where it happens to start "
            "(a directory the backup account may write): remove it from the job's PATH "
            "and from `search_path` (a doubled, leading or trailing ':' is an empty "
            "entry). ");
  return out;
}

void run(const json& params, sdk::Context& ctx) {
  auto list = params.find("tools");
  if (list == params.end() || !list->is_array() || list->empty())
    throw sdk::CheckError("parameter 'tools' is required: a list of command names");
  std::vector<Tool> tools;
  for (const auto& item : *list) tools.push_back(tool_from(item));
  json details = json::object();
  Options o;
  if (!options_from(params, ctx, details, o)) return;
  const auto cwd_dirs = cwd_entries(o.search_path);
  if (!cwd_dirs.empty()) details["ignored_search_path_entries"] = cwd_dirs;

  Tally tally;
  for (const auto& t : tools) {
    if (ctx.cancelled()) throw sdk::CheckError("cancelled");
    look_at(t, o, ctx, tally);
  }
  details["tools"] = tally.results;
  details["missing"] = tally.missing;
  details["outdated"] = tally.outdated;
  if (!tally.not_executable.empty()) details["not_executable_by_user"] = tally.not_executable;
  if (!tally.not_run.empty()) details["not_run_as_root"] = tally.not_run;
  ctx.metric("tools_missing", static_cast<double>(tally.missing.size()), "count");
  ctx.metric("tools_outdated", static_cast<double>(tally.outdated.size()), "count");

  auto findings = findings_of(tally, o, cwd_dirs);
  if (findings.empty()) {
    ctx.ok("all " + std::to_string(tools.size()) + " tools found: " + tally.found_text, details);
    return;
  }
  // Every problem in the order found; each remediation ends in a space, ready to be joined.
  std::string summary, remediation;
  for (const auto& f : findings.items()) {
    summary += (summary.empty() ? "" : "; ") + f.summary;
    remediation += f.remediation;
  }
  const sdk::Status status = sdk::worse(sdk::Status::warn, findings.status());
  if (!remediation.empty() && remediation.back() == ' ') remediation.pop_back();
  ctx.report(status, summary, remediation, details);
}

}  // namespace

sdk::CheckType tools_check() {
  return {
      .type = "files.tools",
      .summary = "Commands the backup scripts need are installed, recent enough and runnable",
      .doc =
          "Looks each tool up on `search_path` (set it to the PATH the backup job really has: "
          "cron gives only /usr/bin:/bin), runs it with `version_args` (default `--version`) to "
          "read its version, and compares it with `min_version`. With `user`, it also checks "
          "that this account can execute each tool and runs the version command as it. The "
          "remediation names the Debian packages to install (known for common backup tools, "
          "or given with `package`). Metrics: `tools_missing`, `tools_outdated` (count).\n\n"
          "Only absolute `search_path` entries are searched: an empty or relative entry (the "
          "working directory) is reported as a warning, not searched. As root, a tool is run "
          "only if it and every directory above it can be changed by root alone; any other "
          "(a program in the backup account's own bin directory) is not run as root: its "
          "version is not read and the result says who could change it. Set `user` to have "
          "the version command run as the job's account instead, as the job itself runs it.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::files
