// One check in its own child process: the isolation that lets a run survive a plugin that
// crashes, hangs, throws or exits. The child calls the plugin's run_check with host callbacks
// that write one JSON line per callback into a pipe; the parent reads the lines, and if the
// child dies or overstays its timeout, turns that into an `error` result.
#pragma once

#include "plan.hpp"
#include "result.hpp"
#include "scrubber.hpp"

#include <sys/types.h>
#include <chrono>
#include <optional>
#include <string>

namespace backup_doctor {

class CheckProcess {
 public:
  // Forks the child and starts the check. Throws std::runtime_error when fork/pipe fail.
  CheckProcess(const PlannedCheck& check, const Scrubber& scrubber);
  ~CheckProcess();
  CheckProcess(const CheckProcess&) = delete;
  CheckProcess& operator=(const CheckProcess&) = delete;

  int message_fd() const { return msg_fd_; }
  int stderr_fd() const { return err_fd_; }
  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

  // Reads what is available on `fd` (non-blocking).
  void read_available(int fd);
  // True once the child has exited (reaped); reads the rest of its output first.
  bool poll_exit();
  // Stops the child: SIGTERM first when `gentle`, else SIGKILL to its whole process group.
  void stop(bool gentle);
  void mark_timed_out() { timed_out_ = true; }
  void mark_interrupted() { interrupted_ = true; }
  bool exited() const { return exited_; }
  // Blocks until the child is reaped (after stop(false)).
  void wait();

  // The result, once exited().
  CheckResult result() const;

 private:
  void handle_line(const std::string& line);
  void close_fds();

  const PlannedCheck& check_;
  const Scrubber& scrubber_;
  pid_t pid_ = -1;
  int msg_fd_ = -1;
  int err_fd_ = -1;
  std::chrono::system_clock::time_point started_wall_;
  std::chrono::steady_clock::time_point started_, deadline_, finished_;
  std::string line_buffer_;
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
