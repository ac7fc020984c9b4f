// Runs an external program for a check: the one way plugins start programs (docs/security.md).
//
//   - argv only, never a shell; the program is looked up on a PATH with only absolute entries;
//   - as root, a program is run only if it and every directory above it can be changed by root
//     alone (owned by root, not group/world-writable); any other program is refused unless the
//     check runs it as an unprivileged user (`as_user`);
//   - the child gets an allow-listed environment (PATH, HOME, LANG/LC_*, TZ, TMPDIR when it
//     runs as root, USER/LOGNAME when switched), plus exactly what the check sets in `env`;
//     nothing else is inherited;
//   - no descriptor but stdin/stdout/stderr is inherited; no core dumps;
//   - when switching users: supplementary groups, gid and uid all change, no_new_privs is set, and
//     getting root back is verified to be impossible before exec;
//   - it runs in its own process group and dies with the check (PR_SET_PDEATHSIG); on a timeout
//     or cancellation the whole group gets SIGTERM, then SIGKILL after `kill_grace`; whatever is
//     left in the group when the program exits is killed too;
//   - output is bounded (`max_output` per stream).
#pragma once

#include <sys/types.h>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::support {

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// Looks a user up by name (or numeric id); nothing when there is no such user.
std::optional<UserIds> lookup_user(const std::string& name_or_id);

// The user's supplementary groups (with its primary group), for setgroups() in a forked child.
// Looked up before fork(): initgroups() in the child loads NSS modules and allocates, which can
// deadlock a child forked from a threaded process (seen under ASan, whose allocator lock another
// thread held at the fork).
std::vector<gid_t> supplementary_groups(const UserIds& user);

struct ProcessOptions {
  std::chrono::milliseconds timeout{60'000};
  // After a timeout or a cancellation: SIGTERM to the program's process group, then SIGKILL
  // when it has not ended after this long.
  std::chrono::milliseconds kill_grace{2'000};
  // Run as this user (needs root unless it is the current user).
  std::optional<UserIds> as_user;
  // Variables the check sets for the program, on top of the allow-list. Never put a secret
  // here: hand it over in a file only that user can read (as plugins/rsync/private_file.hpp does),
  // or on stdin.
  std::map<std::string, std::string> env;
  // PATH to look the program up on and to give it; empty: trusted_search_path().
  std::string search_path;
  std::string stdin_data;
  // Instead of stdin_data: this descriptor becomes the program's stdin (e.g. a backup file
  // opened with open_untrusted(), so that the program never opens the path itself).
  int stdin_fd = -1;
  // Instead of both: called whenever the program can take more input; it sets `chunk` to the
  // next bytes and returns true, or returns false at the end of the input (stdin is closed
  // once what it set last is written).
  // For input too big for memory, produced while the program runs (a decompressed dump).
  std::function<bool(std::string& chunk)> stdin_producer;
  std::string cwd = "/";
  size_t max_output = 16 * 1024 * 1024;  // per stream; the rest is dropped, `truncated` set
  // Polled while waiting; when it returns true the program is stopped (a cancelled check).
  bool (*cancelled)(void* arg) = nullptr;
  void* cancelled_arg = nullptr;
};

struct ProcessResult {
  bool started = false;  // false: the program could not be run at all (see start_error)
  std::string start_error;
  // The program was found but not run, because running it as root would let whoever can
  // change it run code as root (start_error says who).
  bool refused_untrusted = false;
  std::string program;  // the path that was (or would have been) run
  int exit_code = -1;   // valid when exited normally
  int signal = 0;       // non-zero when killed by a signal
  bool timed_out = false;
  bool cancelled = false;
  bool truncated = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};

  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  // "exit code 23", "killed by signal 9", "timed out after 30s", "could not start: ..."
  std::string describe() const;
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The PATH children get and programs are found on: the absolute entries of our own PATH (the
// default system PATH when it has none), and as root only the entries that root alone controls.
std::string trusted_search_path();

// Finds a program on `search_path` (default trusted_search_path()) or checks an absolute path;
// empty when not found or not executable. Empty and relative PATH entries are skipped: they
// would name the working directory.
std::string find_program(const std::string& name, const std::string& search_path = {});

// Why running `program` as root is unsafe (someone other than root can change it or a
// directory above it), or "" when it is safe or we are not root.
std::string untrusted_program_reason(const std::string& program);

}  // namespace backup_doctor::support
