// What a scheduled job does, read from its command and the scripts it runs: the backup steps
// (a dump, an archive, a copy, an upload), where its output is logged, and what was not
// understood.
#pragma once

#include "init/scheduled_job.hpp"
#include "init/shell_expand.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace backup_doctor::init {

struct Origin {
  std::string file;
  int line = 0;
  std::string text;  // the command as written, shortened
  std::string where() const { return file + ":" + std::to_string(line); }
};

struct BackupStep {
  enum class Kind {
    database_dump,  // pg_dump
    cluster_dump,   // pg_dumpall
    base_backup,    // pg_basebackup
    archive,        // tar
    rsync,
    s3_copy,      // aws s3 cp/sync/mv
    rclone_copy,  // rclone copy/sync
    encrypt,      // gpg
    checksum,     // sha256sum and the like
  };
  Kind kind = Kind::archive;
  std::string program;
  Origin origin;
  std::optional<Expanded> output;       // the file (a directory for base_backup) it writes
  std::vector<Expanded> sources;        // what it reads: tar's inputs, rsync's and copies' sources
  std::optional<Expanded> destination;  // rsync's destination, s3://..., remote:path
  std::map<std::string, Expanded>
      connection;  // pg: host port user dbname passfile; s3: endpoint region profile
  bool password_from_environment = false;  // PGPASSWORD is set for it
  std::string password_variable;           // the variable PGPASSWORD comes from, if any
  std::string compression;                 // gzip, zstd, ... ("" when none)
  std::vector<std::string> args;           // rsync's options, as expanded
  std::string run_as;                      // sudo -u / runuser -u
  bool removed = false;                    // an rm later in the script deletes `output`
};

struct TracedJob {
  ScheduledJob job;
  std::string script;           // the script the job runs ("" when its command is the job)
  std::vector<Origin> scripts;  // every script read, with where it was started or sourced
  std::vector<BackupStep> steps;
  std::optional<Expanded> log;  // where its output is written
  std::string log_named_in;     // the crontab, unit or script whose redirection names it
  std::string success_marker;   // a line it logs when it finishes well
  std::set<std::string> programs;
  std::vector<JobNote> notes;
  std::string home;           // of the job's user
  bool steps_capped = false;  // it has more backup commands than init reads
};

class HostFiles;

TracedJob trace_job(const HostFiles& host, const ScheduledJob& job);

}  // namespace backup_doctor::init
