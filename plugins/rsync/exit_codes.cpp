#include "exit_codes.hpp"

#include <array>

namespace backup_doctor::rsync {
namespace {

using sdk::Status;

constexpr std::array kCodes = {
    ExitCodeInfo{0, "success", "success", Status::ok, ""},
    ExitCodeInfo{1, "syntax_error", "syntax or usage error", Status::fail,
                 "rsync refused its command line: an option of the job is misspelt, misses its "
                 "value, or is not known to this rsync version. Compare the job's options with "
                 "`rsync --help` on both ends."},
    ExitCodeInfo{2, "protocol_incompatibility", "protocol incompatibility", Status::fail,
                 "the local and remote rsync could not agree on a protocol version. Upgrade the "
                 "older of the two so both speak a common protocol."},
    ExitCodeInfo{3, "file_selection_error", "errors selecting input/output files, dirs",
                 Status::fail,
                 "rsync could not use a source or destination path, or a file named by "
                 "--files-from/--exclude-from. Check that each path exists, is the right type and "
                 "is reachable by the backup user."},
    ExitCodeInfo{4, "action_not_supported", "requested action not supported", Status::fail,
                 "one side lacks a feature an option needs (ACLs with -A, xattrs with -X, 64-bit "
                 "files, a newer option sent to an old server). Drop the option or upgrade the "
                 "rsync that lacks it."},
    ExitCodeInfo{5, "protocol_start_error", "error starting client-server protocol", Status::fail,
                 "the rsync daemon turned the session down: unknown module, wrong user or "
                 "password (secrets file), or a 'hosts allow' rule. The daemon's log says which."},
    ExitCodeInfo{6, "daemon_log_error", "daemon unable to append to log-file", Status::fail,
                 "the rsync daemon cannot write its 'log file'. Fix that path or its permissions "
                 "in rsyncd.conf on the server."},
    ExitCodeInfo{10, "socket_io_error", "error in socket I/O", Status::fail,
                 "the network connection could not be made or broke: nothing listening on the "
                 "daemon port, a firewall, or a reset connection."},
    ExitCodeInfo{11, "file_io_error", "error in file I/O", Status::fail,
                 "rsync could not create or write something it needs as a whole, typically the "
                 "destination directory itself or a full disk."},
    ExitCodeInfo{12, "protocol_stream_error", "error in rsync protocol data stream", Status::fail,
                 "the other rsync went away mid-conversation: rsync missing or crashing on the "
                 "remote host, a login script printing text into the session, or the remote side "
                 "killed (out of memory or disk)."},
    ExitCodeInfo{13, "diagnostics_error", "errors with program diagnostics", Status::fail,
                 "rsync could not write its own messages (closed stdout/stderr, full log disk)."},
    ExitCodeInfo{14, "ipc_error", "error in IPC code", Status::fail,
                 "rsync could not start or talk to a helper process; check the -e/--rsh command "
                 "and the process limits of the backup user."},
    ExitCodeInfo{20, "interrupted", "received SIGUSR1 or SIGINT", Status::fail,
                 "rsync was stopped by a signal (Ctrl-C, kill, a service manager stopping the "
                 "job). Look for whatever ends the job early, such as a systemd TimeoutSec."},
    ExitCodeInfo{21, "waitpid_error", "some error returned by waitpid()", Status::fail,
                 "rsync lost track of a child process; rerun, and check the host's process "
                 "limits if it repeats."},
    ExitCodeInfo{22, "out_of_memory", "error allocating core memory buffers", Status::fail,
                 "rsync ran out of memory, usually on a huge file list. Split the job into "
                 "smaller trees or give the host more memory."},
    ExitCodeInfo{23, "partial_transfer", "partial transfer due to error", Status::fail,
                 "some files or attributes were not transferred; the paths rsync complained "
                 "about are listed, fix each one."},
    ExitCodeInfo{24, "vanished_source_files", "partial transfer due to vanished source files",
                 Status::warn,
                 "files disappeared between rsync listing and reading them, as happens with "
                 "temporary files, caches and rotating logs. Exclude such paths, or sync from a "
                 "filesystem snapshot so the copy is consistent."},
    ExitCodeInfo{25, "max_delete_reached", "the --max-delete limit stopped deletions", Status::warn,
                 "more deletions were due than --max-delete allows, so the destination still "
                 "holds files that are gone from the source. Find out whether that mass deletion "
                 "is intended before raising the limit."},
    ExitCodeInfo{30, "io_timeout", "timeout in data send/receive", Status::fail,
                 "no data moved for --timeout seconds: a stalled network path or a remote side "
                 "that hangs (slow disk, stuck mount)."},
    ExitCodeInfo{35, "daemon_connect_timeout", "timeout waiting for daemon connection",
                 Status::fail,
                 "the rsync daemon did not accept the connection within --contimeout: host "
                 "down, port filtered, or daemon overloaded (max connections)."},
    // Not rsync's own codes, but what a job sees through the remote shell.
    ExitCodeInfo{127, "remote_command_not_found", "remote command not found", Status::fail,
                 "the remote shell could not start rsync on the other host. Install rsync there "
                 "or point --rsync-path at it."},
    ExitCodeInfo{255, "remote_shell_error", "remote shell (ssh) failed", Status::fail,
                 "the remote shell could not connect or log in; run the rsync.remote check for "
                 "the precise reason (refused, timeout, host key, authentication)."},
};

}  // namespace

ExitCodeInfo describe_exit_code(int code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c;
  return ExitCodeInfo{code, "unknown_exit_code", "unknown exit code", Status::fail,
                      "rsync ended with a code its manual does not list; read its error output."};
}

}  // namespace backup_doctor::rsync
