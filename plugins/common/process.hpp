// Runs an external program for a check: argv only (never a shell), a hard timeout, bounded
// output, optionally as another user. Shared by the in-tree plugins (rsync, pg, files, ...).
#pragma once

#include <sys/types.h>
#include <chrono>
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

struct ProcessOptions {
  std::chrono::milliseconds timeout{60'000};
  // Run as this user (needs root unless it is the current user): supplementary groups,
  // gid and uid are all switched, so the test sees what the user really sees.
  std::optional<UserIds> as_user;
  // Added to (or overriding) the inherited environment.
  std::map<std::string, std::string> env;
  // Removed from the inherited environment.
  std::vector<std::string> unset_env;
  std::string stdin_data;
  std::string cwd;
  size_t max_output = 16 * 1024 * 1024;  // per stream; the rest is dropped, `truncated` set
  // Polled while waiting; when it returns true the child is killed (a cancelled check).
  bool (*cancelled)(void* arg) = nullptr;
  void* cancelled_arg = nullptr;
};

struct ProcessResult {
  bool started = false;  // false: the program could not be run at all (see start_error)
  std::string start_error;
  int exit_code = -1;  // valid when exited normally
  int signal = 0;      // non-zero when killed by a signal
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

// Finds a program on PATH (or checks an absolute path); empty when not found or not executable.
std::string find_program(const std::string& name);

}  // namespace backup_doctor::support
