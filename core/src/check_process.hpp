// One check in its own child process: the isolation that lets a run survive a plugin that
// crashes, hangs, throws or exits. The child calls the plugin's run_check with host callbacks
// that write one JSON line per callback into a pipe; the parent reads the lines, and if the
// child dies or overstays its timeout, turns that into an `error` result.
//
// The child is the leader of its own process group and the subreaper of everything it starts
// (process_tree.hpp), dies with the runner (PR_SET_PDEATHSIG), gets a private scratch directory
// as TMPDIR (scratch_pool.hpp: the runner empties it when the check ends), and never sees the
// environment variables that secrets were read from. Stopping it is SIGTERM to the group (the
// check's cancelled() turns true and it cleans up), then SIGKILL to the group after a grace period.
#pragma once

#include "plan.hpp"
#include "result.hpp"
#include "scrubber.hpp"

#include <sys/types.h>
#include <sys/wait.h>
#include <chrono>
#include <optional>
#include <string>

namespace backup_doctor {

class CheckProcess {
 public:
  // Forks the child and starts the check. Throws std::runtime_error when fork/pipe fail.
  // `hidden_env`: variables the child must not see (the sources of secrets). `grace`: how long
  // before its timeout the check gets SIGTERM (at most a quarter of the timeout), and how long
  // after stop() it gets SIGKILL; so a check never runs past its timeout. `scratch_dir`: the
  // check's TMPDIR (none when empty).
  CheckProcess(const PlannedCheck& check, const Scrubber& scrubber,
               const std::vector<std::string>& hidden_env = {},
               std::chrono::milliseconds grace = std::chrono::milliseconds(2000),
               std::string scratch_dir = {});
  ~CheckProcess();
  CheckProcess(const CheckProcess&) = delete;
  CheckProcess& operator=(const CheckProcess&) = delete;

  int message_fd() const { return msg_fd_; }
  int stderr_fd() const { return err_fd_; }
  pid_t pid() const { return pid_; }
  const std::string& scratch_dir() const { return scratch_dir_; }
  // When the runner must act next: stop() at the start of the grace period before the
  // timeout, and once stopping, stop() again (SIGKILL) at its end.
  std::chrono::steady_clock::time_point deadline() const {
    return kill_at_ ? *kill_at_ : deadline_ - grace_;
  }

  // Reads what is available on `fd` (non-blocking).
  void read_available(int fd);
  // True once the child has exited (reaped); reads the rest of its output first.
  bool poll_exit();
  // Stops the child: SIGTERM to its process group now; calling it again once deadline() (the
  // end of the grace period) has come sends SIGKILL.
  void stop();
  bool stopping() const { return kill_at_.has_value(); }
  void mark_timed_out() { timed_out_ = true; }
  void mark_interrupted() { interrupted_ = true; }
  bool exited() const { return exited_; }
  // Exited after reporting and after killing everything it started: nothing of it can be left
  // for the runner to find. False for a crash, a kill, an exit() in the plugin.
  bool exited_cleanly() const {
    return exited_ && done_rc_.has_value() && WIFEXITED(wait_status_) &&
           WEXITSTATUS(wait_status_) == 0;
  }
  // SIGKILL to the group and block until the child is reaped.
  void kill_and_wait();

  // The result, once exited().
  CheckResult result() const;

 private:
  void handle_line(const std::string& line);
  void close_fds();
  void reap();

  const PlannedCheck& check_;
  const Scrubber& scrubber_;
  pid_t pid_ = -1;
  int msg_fd_ = -1;
  int err_fd_ = -1;
  std::chrono::system_clock::time_point started_wall_;
  std::chrono::steady_clock::time_point started_, deadline_, finished_;
  std::chrono::milliseconds grace_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  std::string scratch_dir_;
  std::string line_buffer_;
  bool overlong_line_ = false;  // discarding a message line beyond kMaxLine
  std::string stderr_tail_;
  bool exited_ = false;
  int wait_status_ = 0;
  bool timed_out_ = false;
  bool interrupted_ = false;

  // What the child reported.
  bool reported_ = false;
  std::optional<int> done_rc_;
  int status_ = BD_STATUS_ERROR;
  std::string summary_, remediation_, error_;
  nlohmann::json details_ = nlohmann::json::object();
  std::vector<Metric> metrics_;
  std::vector<std::string> logs_;
};

}  // namespace backup_doctor
