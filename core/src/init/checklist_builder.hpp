// The starter checklist: for each traced job, one check per question the runbook asks of such
// a job (is the script executable, is the newest backup fresh and complete, does its log show
// errors, can the server be reached, ...), every path, host, user and bucket in `vars`, each
// check saying where it was found. What cannot be known is a declared secret, never a guess.
#pragma once

#include "init/host_files.hpp"
#include "init/postgres_config.hpp"
#include "init/traced_job.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace backup_doctor::init {

struct StarterChecklist {
  nlohmann::ordered_json checklist;
  std::vector<std::string> jobs;     // one line per backup job: its id and where it was found
  std::vector<std::string> secrets;  // environment variables to set before running it
  std::vector<JobNote> notes;        // what was not understood
  size_t checks = 0;
};

class ChecklistBuilder {
 public:
  // `root` is prefixed to every local path (init --root: the host is a tree under it).
  ChecklistBuilder(const HostFiles& host, std::string root);

  void add_job(const TracedJob& job);
  void add_wal_archive(const WalArchive& wal);
  StarterChecklist finish(const std::string& host_name);

  // Per job, what its checks share (public for the per-step check writers).
  struct Job {
    std::string id;      // "db-backup"
    std::string prefix;  // "db_backup" (for vars)
    std::string found;   // "/etc/cron.d/backup:3 runs /opt/backup-scripts/db_backup.sh"
    std::string user;    // the account it runs as
    std::string max_age;
    std::string log_check;  // id of its log check, "" when none
    std::string user_var;   // "${db_backup_user}"
    const TracedJob* traced = nullptr;
  };

  std::string var(const std::string& name, const nlohmann::ordered_json& value);
  // A var of this job holding `value`: the one it already has, else a new one named `name`.
  std::string job_var(const Job& job, const std::string& name, const std::string& value);
  std::string local(const std::string& path) const { return root_ + path; }
  std::string check_id(const Job& job, const std::string& what);
  // "dump" for a job's first dump step, "dump-2" for its second, ...
  std::string step_name(const Job& job, const std::string& kind);
  // The id of the existence check of `dir` in this job: `id` when it is the first to ask.
  std::string first_check_of_dir(const Job& job, const std::string& dir, const std::string& id) {
    return dir_checks_.try_emplace(job.id + "/" + dir, id).first->second;
  }
  void add_check(const Job& job, const std::string& what, const std::string& use,
                 nlohmann::ordered_json with, const std::string& question, const BackupStep* step,
                 nlohmann::ordered_json extra = nullptr);
  void note(const std::string& where, const std::string& message) {
    out_.notes.push_back({where, message});
  }
  nlohmann::ordered_json secret(const std::string& env, const std::string& why);
  const HostFiles& host() const { return host_; }

  // The pg connection parameters of a step, as vars; shared by the job's pg checks.
  nlohmann::ordered_json pg_connection(const Job& job, const BackupStep& step);
  // The jobs' database connections, for the WAL archive check of a server on this host.
  struct PgUse {
    nlohmann::ordered_json connection;
    std::string connect_check;
    std::string host;  // as found ("" for libpq's default, the local socket)
  };
  std::vector<PgUse> pg_uses;

 private:
  void add_script_checks(const Job& job);
  void add_log_check(Job& job);
  void add_tools_check(const Job& job);
  void add_host_checks();
  Job describe_job(const TracedJob& t);

  const HostFiles& host_;
  std::string root_;
  nlohmann::ordered_json vars_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json checks_ = nlohmann::ordered_json::array();
  std::set<std::string> ids_;
  std::map<std::string, int> step_counts_;
  std::set<std::string> programs_;  // every job's, for the host checks
  std::set<std::string> scripts_;
  std::map<std::string, std::string> dir_checks_;
  std::map<std::string, std::string> job_vars_;  // job id + value -> "${var}"
  std::set<std::string> check_fingerprints_;     // job id + use + with: no check twice
  StarterChecklist out_;
};

// The account a step runs as: its sudo -u / runuser -u, else the job's.
std::string runs_as(const TracedJob& job, const BackupStep& step);

// `text` as a checklist string that interpolation leaves as it is ("${" written "$${").
std::string literal_text(std::string text);

// Cuts a password out of a connection string (URI or key=value); true when there was one.
bool without_password(std::string& value, std::string& why);

// The checks for one backup step (step_checks.cpp).
void add_step_checks(ChecklistBuilder& b, const ChecklistBuilder::Job& job, const BackupStep& step);

}  // namespace backup_doctor::init
