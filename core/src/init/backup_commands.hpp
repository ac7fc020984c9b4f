// Recognising backup programs in a script's commands: pg_dump, pg_dumpall, pg_basebackup, tar,
// rsync, aws s3, rclone, gpg, sha256sum (and compressors and mv, which change what an earlier
// step wrote), each turned into a BackupStep with the paths, hosts and options it uses.
#pragma once

#include "init/shell_syntax.hpp"
#include "init/traced_job.hpp"

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::init {

// One simple command as it would run: words expanded, wrappers (sudo -u, nice, timeout, ...)
// taken off, redirections resolved.
struct CommandLine {
  const SimpleCommand* syntax = nullptr;
  std::vector<Expanded> argv;
  std::map<std::string, Expanded> env;  // NAME=value written before the command
  std::optional<Expanded> stdout_file;
  std::optional<Expanded> stderr_file;
  std::string run_as;
  std::string program() const;  // base name of argv[0], "" when unknown
};

// Adds the steps of one pipeline (`pipeline[i]` writes into `pipeline[i+1]`). `env` is the
// script's environment at that point (PGHOST and friends), `cwd` its working directory.
void recognise_pipeline(const std::vector<CommandLine>& pipeline, ShellEnvironment& env,
                        const std::string& file, const std::string& cwd, TracedJob& out);

// Whether `program` is one recognise_pipeline() makes steps of.
bool is_backup_program(const std::string& program);

}  // namespace backup_doctor::init
