// The job's own rsync options, made safe and parseable for a dry run: options that would write
// somewhere even with --dry-run (batch files, log files) or that change the output format we
// parse (--quiet, --out-format, --info, --progress) are dropped and reported.
#pragma once

#include <string>
#include <vector>

namespace backup_doctor::rsync {

struct JobArgs {
  std::vector<std::string> args;     // what is passed on to rsync
  std::vector<std::string> ignored;  // dropped options, as given
  bool mkpath = false;               // --mkpath: rsync creates missing destination parents
  bool relative = false;             // -R/--relative: names keep their full path
};

// Throws sdk::CheckError for options that make no sense for a job (--server, --daemon, ...).
JobArgs filter_job_args(const std::vector<std::string>& in);

}  // namespace backup_doctor::rsync
