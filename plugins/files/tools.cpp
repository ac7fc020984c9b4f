// files.tools: the commands the backup scripts rely on are on PATH (the PATH the job really
// runs with, which under cron is short), at a recent enough version, and runnable by the
// backup user.
#include "checks.hpp"
#include "process.hpp"
#include "user_access.hpp"
#include "util.hpp"
#include "version.hpp"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <map>

namespace backup_doctor::files {

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
    "timeout": {"type": "string", "minLength": 1, "pattern": "@duration@", "default": "10s",
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
  if (t.package.empty()) {
    std::string base = t.name.substr(t.name.find_last_of('/') + 1);
    if (auto it = known_packages().find(base); it != known_packages().end()) t.package = it->second;
  }
  return t;
}

bool is_executable_file(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

std::string which(const std::string& name, const std::string& search_path) {
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : std::string();
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string::npos) end = search_path.size();
    std::string dir = search_path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return {};
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

void run(const json& params, sdk::Context& ctx) {
  auto list = params.find("tools");
  if (list == params.end() || !list->is_array() || list->empty())
    throw sdk::CheckError("parameter 'tools' is required: a list of command names");
  std::vector<Tool> tools;
  for (const auto& item : *list) tools.push_back(tool_from(item));
  const char* env_path = std::getenv("PATH");
  const std::string search_path = params.value(
      "search_path", std::string(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin"));
  const auto timeout = duration_param(params, "timeout", "10s");
  std::optional<support::UserIds> user;
  json details = {{"search_path", search_path}};
  if (params.contains("user")) {
    std::string name = required_string(params, "user");
    details["user"] = name;
    user = support::lookup_user(name);
    if (!user) {
      ctx.fail("user '" + name + "' does not exist on this host",
               "The backup job cannot run as an account that does not exist. Create it (useradd "
               "--system --no-create-home --shell /usr/sbin/nologin " +
                   name + ") or correct `user`.",
               details);
      return;
    }
    if (geteuid() != 0 && geteuid() != user->uid) {
      ctx.report(sdk::Status::error, "cannot run tools as " + name + " without root",
                 "Run backup-doctor as root (it switches to '" + name +
                     "' to run each tool), or drop `user` from this check.",
                 details);
      return;
    }
  }

  json results = json::array();
  std::vector<std::string> missing, outdated, unknown_version, not_executable;
  std::vector<std::string> upgrade_packages, upgrade_unknown;
  bool pg_tool_outdated = false;
  std::map<std::string, std::vector<std::string>> packages;  // package -> tools
  std::vector<std::string> no_package;
  std::string found_text;
  for (const auto& t : tools) {
    if (ctx.cancelled()) throw sdk::CheckError("cancelled");
    json r = {{"name", t.name}};
    if (!t.package.empty()) r["package"] = t.package;
    if (!t.min_version.empty()) r["min_version"] = t.min_version;
    std::string path = which(t.name, search_path);
    r["found"] = !path.empty();
    if (path.empty()) {
      missing.push_back(t.name);
      if (t.package.empty())
        no_package.push_back(t.name);
      else
        packages[t.package].push_back(t.name);
      results.push_back(r);
      continue;
    }
    r["path"] = path;
    if (user) {
      auto answer = support::test_access_as(*user, path, support::Access::execute);
      r["user_can_execute"] = answer.allowed;
      if (!answer.allowed) {
        not_executable.push_back(t.name + " (" + path + ": " + answer.reason + ")");
        results.push_back(r);
        continue;
      }
    }
    std::optional<std::string> version;
    if (!t.version_args.empty()) {
      std::vector<std::string> argv{path};
      argv.insert(argv.end(), t.version_args.begin(), t.version_args.end());
      support::ProcessOptions o;
      o.timeout = timeout;
      o.as_user = user;
      o.max_output = 64 * 1024;
      o.cancelled = &cancelled_cb;
      o.cancelled_arg = &ctx;
      auto pr = support::run_process(argv, o);
      if (pr.cancelled) throw sdk::CheckError("cancelled");
      r["version_command"] = pr.describe();
      std::string output = pr.out + "\n" + pr.err;
      r["version_output"] = first_line(output);
      if (pr.started && !pr.timed_out) {
        version = find_version(pr.out, t.version_regex);
        if (!version) version = find_version(pr.err, t.version_regex);
      }
    }
    if (version) r["version"] = *version;
    if (!t.min_version.empty()) {
      if (!version) {
        unknown_version.push_back(t.name);
        r["version_ok"] = nullptr;
      } else {
        bool ok = compare_versions(*version, t.min_version) >= 0;
        r["version_ok"] = ok;
        if (!ok) outdated.push_back(t.name + " " + *version + " (need " + t.min_version + ")");
        if (!ok) {
          if (t.package.empty())
            upgrade_unknown.push_back(t.name);
          else if (std::find(upgrade_packages.begin(), upgrade_packages.end(), t.package) ==
                   upgrade_packages.end())
            upgrade_packages.push_back(t.package);
          pg_tool_outdated |= t.name.find("pg_") != std::string::npos;
        }
      }
    }
    found_text += std::string(found_text.empty() ? "" : ", ") + t.name +
                  (version ? " " + *version : std::string());
    results.push_back(r);
  }
  details["tools"] = results;
  details["missing"] = missing;
  details["outdated"] = outdated;
  if (!not_executable.empty()) details["not_executable_by_user"] = not_executable;
  ctx.metric("tools_missing", static_cast<double>(missing.size()), "count");
  ctx.metric("tools_outdated", static_cast<double>(outdated.size()), "count");

  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  std::vector<std::string> problems;
  std::string remediation;
  if (!missing.empty()) {
    problems.push_back("missing: " + join(missing));
    if (!packages.empty()) {
      std::string pkgs, which_for;
      for (const auto& [pkg, names] : packages) {
        pkgs += " " + pkg;
        which_for += std::string(which_for.empty() ? "" : "; ") + pkg + " provides " + join(names);
      }
      remediation += "Install the missing tools: apt-get install" + pkgs + " (" + which_for + "). ";
    }
    if (!no_package.empty())
      remediation += "No Debian package is known for " + join(no_package) +
                     ": install it from its vendor, or set `package` in this check; if it is a "
                     "typo, correct the name. ";
    std::string shown_path =
        search_path.size() > 100 ? "the search path (see details)" : search_path;
    remediation += "If a tool is installed outside " + shown_path +
                   ", add its directory to the PATH the backup job runs with (cron jobs get "
                   "only /usr/bin:/bin unless the crontab sets PATH=). ";
  }
  if (!outdated.empty()) {
    problems.push_back("too old: " + join(outdated));
    if (!upgrade_packages.empty()) {
      std::string pkgs;
      for (const auto& p : upgrade_packages) pkgs += " " + p;
      remediation += "Upgrade: apt-get install --only-upgrade" + pkgs +
                     " (or take a newer build from the vendor's repository when the "
                     "distribution's is too old). ";
    }
    if (!upgrade_unknown.empty())
      remediation += "Install a newer " + join(upgrade_unknown) + " from its vendor. ";
    if (pg_tool_outdated)
      remediation +=
          "pg_dump and pg_restore must be at least as new as the PostgreSQL server "
          "they talk to. ";
  }
  if (!not_executable.empty()) {
    problems.push_back(user->name + " cannot execute: " + join(not_executable));
    remediation += "Let " + user->name +
                   " run these programs: check the mode of each file and of its directory "
                   "(ls -ld), and any group restriction on them (chmod o+x, or add " +
                   user->name + " to the owning group). ";
  }
  if (!problems.empty()) {
    std::string summary;
    for (const auto& p : problems) summary += (summary.empty() ? "" : "; ") + p;
    if (!remediation.empty() && remediation.back() == ' ') remediation.pop_back();
    ctx.fail(summary, remediation, details);
    return;
  }
  if (!unknown_version.empty()) {
    ctx.report(sdk::Status::error, "could not read the version of " + join(unknown_version),
               "Their version output did not contain a version number where expected (see "
               "version_output in the details): set `version_args` to the option that prints "
               "it, or `version_regex` to a regex whose first group captures it.",
               details);
    return;
  }
  ctx.ok("all " + std::to_string(tools.size()) + " tools found: " + found_text, details);
}

}  // namespace

CheckSpec tools_check() {
  return {"files.tools",
          "Commands the backup scripts need are installed, recent enough and runnable",
          "Looks each tool up on `search_path` (set it to the PATH the backup job really has: "
          "cron gives only /usr/bin:/bin), runs it with `version_args` (default `--version`) to "
          "read its version, and compares it with `min_version`. With `user`, it also checks "
          "that this account can execute each tool and runs the version command as it. The "
          "remediation names the Debian packages to install (known for common backup tools, "
          "or given with `package`). Metrics: `tools_missing`, `tools_outdated` (count).",
          with_duration_patterns(kSchema), &run};
}

}  // namespace backup_doctor::files
