#include "init/checklist_builder.hpp"
#include "init/words.hpp"

#include <algorithm>

namespace backup_doctor::init {
namespace {

// "db_backup.sh" -> "db-backup": letters, digits and dashes.
std::string slug(std::string s) {
  if (size_t dot = s.find('.'); dot != std::string::npos && dot > 0) s = s.substr(0, dot);
  std::string out;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c));
    if (ok)
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "job" : out;
}

std::string underscores(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace

std::string runs_as(const TracedJob& job, const BackupStep& step) {
  // `sudo -u root` in a script of another account (who may change it) is not believed: that
  // would make the checks, the rsync dry run among them, run as root on its say-so.
  if (step.run_as.empty() || (step.run_as == "root" && job.job.user != "root")) return job.job.user;
  return step.run_as;
}

ChecklistBuilder::ChecklistBuilder(const HostFiles& host, std::string root)
    : host_(host), root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string literal_text(std::string s) {
  for (size_t at = s.find("${"); at != std::string::npos; at = s.find("${", at + 3))
    s.insert(at, "$");
  return s;
}

std::string ChecklistBuilder::var(const std::string& name, const nlohmann::ordered_json& raw) {
  // What the host holds is text, never a reference: a script's '/srv/${env:AWS_SECRET...}'
  // must not make the run read that variable into a path (and a report).
  const nlohmann::ordered_json value =
      raw.is_string() ? nlohmann::ordered_json(literal_text(raw.get<std::string>())) : raw;
  std::string n = name;
  for (int i = 2; vars_.contains(n) && vars_[n] != value; ++i) n = name + "_" + std::to_string(i);
  vars_[n] = value;
  return "${" + n + "}";
}

std::string ChecklistBuilder::job_var(const Job& job, const std::string& name,
                                      const std::string& value) {
  auto [it, added] = job_vars_.try_emplace(job.id + "\n" + value, "");
  if (added) it->second = var(name, value);
  return it->second;
}

std::string ChecklistBuilder::check_id(const Job& job, const std::string& what) {
  std::string id = job.id + "-" + what;
  for (int i = 2; ids_.count(id); ++i) id = job.id + "-" + what + "-" + std::to_string(i);
  return id;
}

void ChecklistBuilder::add_check(const Job& job, const std::string& what, const std::string& use,
                                 nlohmann::ordered_json with, const std::string& question,
                                 const BackupStep* step, nlohmann::ordered_json extra) {
  // Two steps of one job asking the same question (two archives in one directory) ask it once.
  const std::string fingerprint =
      with.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (!check_fingerprints_.insert(job.id + "\n" + use + "\n" + fingerprint).second) return;
  nlohmann::ordered_json c;
  c["id"] = check_id(job, what);
  ids_.insert(c["id"].get<std::string>());
  c["use"] = use;
  c["with"] = std::move(with);
  if (extra.is_object()) {
    for (auto& [k, v] : extra.items()) c[k] = v;
  }
  c["tags"] = nlohmann::ordered_json::array({job.id});
  std::string where = job.found;
  if (step && step->origin.line) where += "; " + step->program + " at " + step->origin.where();
  c["description"] = question + " (found: " + where + ")";
  checks_.push_back(std::move(c));
}

nlohmann::ordered_json ChecklistBuilder::secret(const std::string& env, const std::string& why) {
  if (std::find(out_.secrets.begin(), out_.secrets.end(), env + ": " + why) == out_.secrets.end())
    out_.secrets.push_back(env + ": " + why);
  return {{"secret", {{"env", env}}}};
}

std::string ChecklistBuilder::step_name(const Job& job, const std::string& kind) {
  const int n = ++step_counts_[job.id + "/" + kind];
  return n == 1 ? kind : kind + "-" + std::to_string(n);
}

ChecklistBuilder::Job ChecklistBuilder::describe_job(const TracedJob& t) {
  Job job;
  job.traced = &t;
  std::string name = !t.script.empty() ? base_name(t.script) : t.job.name_hint;
  if (name.empty() && t.log && t.log->exact) name = base_name(t.log->text);  // mirror.log -> mirror
  if (name.empty() && !t.steps.empty()) name = t.steps.front().program + "-backup";
  job.id = slug(name);
  for (int i = 2;
       std::any_of(ids_.begin(), ids_.end(),
                   [&](const std::string& id) { return id.starts_with(job.id + "-"); }) &&
       i < 100;
       ++i) {
    job.id = slug(name) + "-" + std::to_string(i);
    if (std::none_of(ids_.begin(), ids_.end(),
                     [&](const std::string& id) { return id.starts_with(job.id + "-"); }))
      break;
  }
  job.prefix = underscores(job.id);
  job.found = t.job.source + ":" + std::to_string(t.job.line);
  if (!t.job.via.empty()) job.found += " starts " + base_name(t.job.via);
  // The program, not the command line: a crontab line may carry a password (PGPASSWORD=...).
  const std::string program = t.steps.empty() ? "" : t.steps.front().program;
  job.found += " runs " + (!t.script.empty() ? t.script
                           : program.empty() ? std::string("a command")
                                             : program);
  job.user = t.job.user;
  if (!t.steps.empty() && runs_as(t, t.steps.front()) != t.job.user)
    job.user = runs_as(t, t.steps.front());
  job.user_var = var(job.prefix + "_user", job.user);
  if (t.job.schedule.longest_gap) {
    job.max_age = var(job.prefix + "_max_age", freshness_limit(*t.job.schedule.longest_gap));
  } else {
    job.max_age = var(job.prefix + "_max_age", "25h");
    note(job.found,
         t.job.schedule.problem + "; the freshness limit is 25h: set " + job.prefix + "_max_age");
  }
  return job;
}

void ChecklistBuilder::add_script_checks(const Job& job) {
  const std::string& script = job.traced->script;
  if (script.empty()) return;
  const std::string path = var(job.prefix + "_script", local(script));
  add_check(job, "script-executable", "files.mode",
            {{"path", path}, {"executable", true}, {"max_mode", "0755"}},
            "The backup script is executable and not writable by others", nullptr);
  if (job.user != "root")
    add_check(job, "script-runs-as-user", "files.access",
              {{"path", path}, {"user", job.user_var}, {"access", {"read", "execute"}}},
              "The account the job runs as can read and execute its script", nullptr,
              {{"needs",
                {ids_.count(job.id + "-script-executable") ? job.id + "-script-executable" : ""}}});
}

void ChecklistBuilder::add_log_check(Job& job) {
  const auto& log = job.traced->log;
  if (!log) return;
  if (!log->exact) {
    note(job.found, "its log " + log->text + " has a name init cannot work out; no log check");
    return;
  }
  if (const std::string& by = job.traced->log_named_in; !host_.owner_can_write(log->text, by)) {
    note(job.found, "its log would be " + log->text + ", which the owner of " + by +
                        " cannot write: not the job's log, and a scan as root would show what "
                        "that account cannot read; no log check");
    return;
  }
  nlohmann::ordered_json with = {
      {"path", var(job.prefix + "_log", local(log->text))},
      {"patterns", {"error", "fail", "fatal", "exception", "No space left"}}};
  if (!job.traced->success_marker.empty())
    with["success_marker"] = var(job.prefix + "_success_marker", job.traced->success_marker);
  job.log_check = check_id(job, "log");
  add_check(job, "log", "files.log_scan", with,
            "The job's log has no errors since its last successful run", nullptr);
}

// Everything the job runs that a minimal system does not have for sure: what the runbook's
// "required tools are installed" asks (a missing upload helper fails the job as surely as a
// missing pg_dump).
void ChecklistBuilder::add_tools_check(const Job& job) {
  static const std::set<std::string> kEverywhere = {
      "[",      "test",     "echo",     "printf", "true",   "false",   "exit",     "return",
      "read",   "shift",    "wait",     "date",   "cat",    "mkdir",   "rm",       "mv",
      "cp",     "ln",       "find",     "chmod",  "chown",  "touch",   "sleep",    "grep",
      "egrep",  "sed",      "awk",      "head",   "tail",   "wc",      "sort",     "uniq",
      "tee",    "basename", "dirname",  "mktemp", "logger", "stat",    "du",       "df",
      "xargs",  "cut",      "tr",       "kill",   "ps",     "sync",    "ls",       "id",
      "whoami", "hostname", "sh",       "bash",   "dash",   "nproc",   "realpath", "readlink",
      "expr",   "seq",      "pwd",      "wait",   "exec",   "command", "type",     "hash",
      "cmp",    "diff",     "printenv", "getent", "local",  "let"};
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();
  for (const std::string& p : job.traced->programs) {
    if (!kEverywhere.count(p) && p.find('/') == std::string::npos &&
        p.find('=') == std::string::npos)
      tools.push_back(literal_text(p));
  }
  if (tools.empty()) return;
  // cron gives a job only /usr/bin:/bin unless the crontab sets PATH.
  std::string path = job.traced->job.via.empty()
                         ? "/usr/bin:/bin"
                         : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
  if (auto it = job.traced->job.environment.find("PATH"); it != job.traced->job.environment.end())
    path = it->second;
  nlohmann::ordered_json with = {{"tools", tools},
                                 {"search_path", var(job.prefix + "_path", path)}};
  if (job.user != "root") with["user"] = job.user_var;
  add_check(job, "tools", "files.tools", with,
            "The programs the job runs are installed and on the PATH it gets", nullptr);
  for (const auto& p : job.traced->programs) programs_.insert(p);
}

// The host the jobs run on: stuck backup processes, memory and CPU, and SELinux denials of the
// backup programs when the host keeps an audit log.
void ChecklistBuilder::add_host_checks() {
  Job host;
  static const TracedJob kNone;
  host.traced = &kNone;
  host.id = "host";
  host.prefix = "host";
  host.user = "root";
  host.found = "the programs and scripts of the jobs above";
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  static const std::set<std::string> kLongRunning = {
      "pg_dump", "pg_dumpall", "pg_basebackup", "tar",  "rsync", "rclone",
      "aws",     "gpg",        "pigz",          "zstd", "gzip"};
  for (const auto& p : programs_) {
    if (kLongRunning.count(p)) names.push_back(p);
  }
  for (const auto& s : scripts_) names.push_back(s);
  if (names.empty()) return;
  add_check(
      host, "backup-processes", "resources.backup_process",
      {{"names", names}, {"sample", "5s"}, {"max_runtime", var("host_backup_max_runtime", "6h")}},
      "No backup process is stuck, stopped or running far longer than usual", nullptr);
  add_check(host, "memory", "resources.memory", nlohmann::ordered_json::object(),
            "The host has memory to spare for the backups", nullptr, {{"severity", "warning"}});
  add_check(host, "cpu", "resources.cpu", nlohmann::ordered_json::object(),
            "The host's CPUs are not saturated", nullptr, {{"severity", "warning"}});
  if (host_.is_file("/var/log/audit/audit.log"))
    add_check(
        host, "selinux-denials", "selinux.denials",
        {{"audit_log", var("host_audit_log", local("/var/log/audit/audit.log"))}, {"since", "24h"}},
        "SELinux denied nothing to the backup programs in the last day", nullptr);
}

void ChecklistBuilder::add_job(const TracedJob& t) {
  for (const auto& n : t.notes) out_.notes.push_back(n);
  if (t.steps.empty()) return;
  Job job = describe_job(t);
  out_.jobs.push_back(job.id + ": " + job.found + " (" +
                      (t.job.schedule.text.empty() ? "?" : t.job.schedule.text) + ")");
  if (!t.script.empty()) scripts_.insert(base_name(t.script));
  add_script_checks(job);
  add_log_check(job);
  add_tools_check(job);
  for (const BackupStep& step : t.steps) add_step_checks(*this, job, step);
}

void ChecklistBuilder::add_wal_archive(const WalArchive& wal) {
  static const TracedJob kNoScript;
  Job job;
  job.traced = &kNoScript;
  job.id = "wal-archive";
  job.prefix = "wal_archive";
  job.user = "postgres";
  job.found = wal.config + ":" + std::to_string(wal.line) + " archive_command";
  if (!wal.archive_mode_on)
    note(job.found,
         "archive_command is set but archive_mode is not on: the server archives nothing");
  if (wal.directory.empty()) return;
  out_.jobs.push_back(job.id + ": " + job.found + " (continuous)");
  // A job's connection to this host's server, if one has it (its password or passfile too).
  nlohmann::ordered_json conn;
  std::string connect_check;
  for (const PgUse& use : pg_uses) {
    const bool local_host = use.host.empty() || use.host == "localhost" ||
                            use.host == "127.0.0.1" || use.host == "::1" || use.host[0] == '/';
    if (local_host && conn.is_null()) {
      conn = use.connection;
      connect_check = use.connect_check;
    }
  }
  if (conn.is_null()) {
    conn = {{"host", var("wal_archive_db_host",
                         wal.socket_directory.empty() ? "localhost" : wal.socket_directory)}};
    if (!wal.port.empty()) conn["port"] = var("wal_archive_db_port", wal.port);
    conn["user"] = var("wal_archive_db_user", "postgres");
  }
  const std::string dir = var("wal_archive_dir", local(wal.directory));
  add_check(job, "dir", "files.exists", {{"path", dir}, {"type", "dir"}},
            "The directory archive_command copies WAL segments to exists", nullptr);
  nlohmann::ordered_json with = conn;
  with["archive_dir"] = dir;
  with["max_age"] = var("wal_archive_max_age", "1h");
  nlohmann::ordered_json extra = {{"needs", {job.id + "-dir"}}};
  if (!connect_check.empty()) extra["needs"].push_back(connect_check);
  add_check(job, "archiving", "pg.wal_archiving", with,
            "Continuous archiving succeeds, is current, and the archive has no gap", nullptr,
            extra);
}

StarterChecklist ChecklistBuilder::finish(const std::string& host_name) {
  add_host_checks();
  // A needs entry that names no check (a prerequisite that was not written) is dropped.
  for (auto& c : checks_) {
    if (!c.contains("needs")) continue;
    nlohmann::ordered_json kept = nlohmann::ordered_json::array();
    for (const auto& n : c["needs"]) {
      if (ids_.count(n.get<std::string>())) kept.push_back(n);
    }
    if (kept.empty())
      c.erase("needs");
    else
      c["needs"] = kept;
  }
  nlohmann::ordered_json& cl = out_.checklist;
  cl["version"] = 1;
  cl["name"] = "Backups on " + host_name;
  std::string description =
      "Written by `backup-doctor init` from the host's cron jobs, systemd timers and the scripts "
      "they run. "
      "Review the vars (paths, hosts, users, freshness limits) before trusting it.";
  if (!out_.secrets.empty()) {
    description +=
        " Secrets to provide in backup-doctor's environment (init never copies a password):";
    for (const auto& s : out_.secrets) description += " " + s + ";";
    description.pop_back();
    description += ".";
  }
  cl["description"] = description;
  cl["vars"] = vars_;
  cl["defaults"] = {{"severity", "critical"}, {"timeout", "60s"}};
  cl["checks"] = checks_;
  out_.checks = checks_.size();
  return std::move(out_);
}

}  // namespace backup_doctor::init
