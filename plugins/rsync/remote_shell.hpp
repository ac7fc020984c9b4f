// The job's remote shell (-e / --rsh) as a dry run may use it: rsync runs that command itself,
// even with --dry-run, so only ssh is accepted, and only with options that neither run another
// program, nor write, nor leave a process behind. As root, files ssh would read (keys, known
// hosts, config) must be ones nobody else can change.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::rsync {

// Splits a remote-shell command the way rsync does (spaces separate words; '...' and "..."
// quote, with \\ and \" inside double quotes). Nothing when a quote is left open.
std::optional<std::vector<std::string>> split_remote_shell(const std::string& command);

struct OptionRefusal {
  std::string option;  // as the job gave it: "-e sh -c 'id'"
  std::string why;     // "rsync would run 'sh' as the remote shell, even in a dry run"
  std::string fix;     // what to do instead
};

// Why the remote-shell command cannot be used for a dry run, or nothing when it can. `as_root`:
// the dry run runs as root (no run_as).
std::optional<OptionRefusal> vet_remote_shell(const std::string& option_text,
                                              const std::string& command, bool as_root);

// The same question for a file a program running as root would read: "" when only root can
// change it (or we are not root), else why not (from support::untrusted_path_reason).
std::string root_read_risk(const std::string& path);

}  // namespace backup_doctor::rsync
