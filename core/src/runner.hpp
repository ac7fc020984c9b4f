// Runs a plan: checks in `needs` order, up to `jobs` at once, each in its own process with
// its timeout. A check whose prerequisite did not pass is skipped, naming it. An interrupt
// (Ctrl-C, SIGTERM) stops what runs and still returns everything that finished.
#pragma once

#include "plan.hpp"
#include "result.hpp"
#include "scrubber.hpp"

#include <functional>
#include <string>
#include <vector>

namespace backup_doctor {

struct RunProgress {
  size_t done = 0;
  size_t total = 0;
  std::vector<std::string> running;  // ids
};

struct RunnerOptions {
  unsigned jobs = 4;
  // Readable end of a pipe that becomes readable on interrupt (see install_interrupt_pipe).
  int interrupt_fd = -1;
  // A check gets SIGTERM this long before its timeout (at most a quarter of it) and SIGKILL at
  // the timeout; an interrupted one gets SIGTERM at once and SIGKILL this much later.
  std::chrono::milliseconds stop_grace{2000};
  std::function<void(const RunProgress&)> on_progress;
};

RunReport run_plan(const Plan& plan, const RunnerOptions& options, const Scrubber& scrubber);

// Installs SIGINT/SIGTERM handlers that write to a pipe; returns its readable end.
int install_interrupt_pipe();

// The default for --jobs: the core count, at least 4 (most checks wait on I/O).
unsigned default_jobs();

}  // namespace backup_doctor
