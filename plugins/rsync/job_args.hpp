// The job's own rsync options, as a dry run may pass them on. Every option rsync knows is
// classified (job_args.cpp); an option the check does not know is refused, since it cannot
// tell whether it writes or runs something even with --dry-run.
//   - dropped and listed: options that write even in a dry run (--log-file, --write-batch) or
//     change the output we parse (--quiet, --out-format, --info, --progress);
//   - refused: options that are no client job (--server, --daemon, --read-batch), a remote
//     shell other than plain ssh (-e 'sh -c ...'), a --rsync-path that is more than a program,
//     stray words; and as root (no run_as) anything that makes rsync follow links
//     (-L, -k, -K), read files that others can change (--files-from, --exclude-from, merge
//     filters, --password-file) or read per-directory filter files in the tree (-F, -C);
//   - remote options (-M/--remote-option) go through the same rules.
#pragma once

#include "remote_shell.hpp"

#include <string>
#include <vector>

namespace backup_doctor::rsync {

struct JobArgsPolicy {
  // The dry run runs as root: options that make rsync read or follow what others can change
  // are refused.
  bool as_root = false;
  // The check hands rsync the daemon password itself: the job's --password-file is dropped.
  bool own_password_file = false;
};

struct JobArgs {
  std::vector<std::string> args;     // what is passed on to rsync
  std::vector<std::string> ignored;  // dropped options, as given
  std::vector<OptionRefusal> refused;
  std::vector<std::string> local_dirs;  // --compare-dest & co., to be checked like the destination
  bool mkpath = false;                  // --mkpath: rsync creates missing destination parents
  bool relative = false;                // -R/--relative: names keep their full path
};

JobArgs filter_job_args(const std::vector<std::string>& in, const JobArgsPolicy& policy = {});

}  // namespace backup_doctor::rsync
