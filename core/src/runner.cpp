#include "runner.hpp"

#include "check_process.hpp"
#include "process_tree.hpp"
#include "scratch_pool.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace backup_doctor {
namespace {

int g_interrupt_write_fd = -1;

bool passed(Status s) {
  return s == Status::ok || s == Status::warn;
}

CheckResult skipped_result(const PlannedCheck& c, std::string summary, nlohmann::json details) {
  CheckResult r;
  r.id = c.spec.id;
  r.type = c.spec.use;
  r.plugin = c.plugin->name;
  r.description = c.spec.description;
  r.tags = c.spec.tags;
  r.severity = c.spec.severity;
  r.status = Status::skipped;
  r.summary = std::move(summary);
  r.details = std::move(details);
  r.started_at = std::chrono::system_clock::now();
  return r;
}

// What the report needs beyond the check's own findings to tell causes from consequences.
void add_relations(CheckResult& r, const PlannedCheck& c) {
  r.group = c.spec.group;
  r.needs = c.spec.needs;
  r.after = c.spec.after;
  r.param_fingerprint = parameter_fingerprint(c.params);
}

}  // namespace

int install_interrupt_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  g_interrupt_write_fd = fds[1];
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    char c = 1;
    ssize_t ignored = write(g_interrupt_write_fd, &c, 1);
    (void)ignored;
  };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return fds[0];
}

unsigned default_jobs() {
  return std::max(4u, std::thread::hardware_concurrency());
}

namespace {

// One run of a plan: the state of every check (waiting, running, finished) and the loop that
// starts what is ready, waits for output, exits, deadlines and interrupts, and collects results.
class PlanRun {
 public:
  PlanRun(const Plan& plan, const RunnerOptions& options, const Scrubber& scrubber)
      : plan_(plan),
        options_(options),
        scrubber_(scrubber),
        n_(plan.checks.size()),
        jobs_(std::max(1u, options.jobs)),
        results_(n_),
        started_(n_, false),
        running_(n_),
        last_notice_(std::chrono::steady_clock::now()) {
    // Everything a check leaves behind is re-parented to us once its check process is gone,
    // and killed (process_tree.hpp). Children we had before the run are not the run's business.
    become_subreaper();
    for (pid_t p : child_processes()) keep_.insert(p);
    for (size_t i = 0; i < n_; ++i) index_of_[plan.checks[i].spec.id] = i;
  }

  // Runs every check; the results in checklist order.
  std::vector<CheckResult> run() {
    while (done_ < n_) {
      bool started_any = start_ready();
      if (started_any) notify();
      if (done_ == n_) break;
      if (active_ == 0) {
        if (interrupted_ || !started_any) {
          // Interrupted: what never started is reported as not run. Not started and nothing
          // running is unreachable with a validated plan (no cycles); fail safe, not spin.
          settle_unstarted(interrupted_);
          break;
        }
        continue;
      }
      wait_for_events();
      reap_exited();
    }
    kill_strays();
    std::vector<CheckResult> out;
    for (auto& r : results_)
      if (r) out.push_back(std::move(*r));
    return out;
  }

  bool interrupted() const { return interrupted_; }

 private:
  // Starts whatever is ready, in checklist order; true when anything started or was skipped.
  bool start_ready() {
    bool started_any = false;
    for (size_t i = 0; i < n_ && !interrupted_; ++i) {
      if (started_[i]) continue;
      bool ready = true;
      std::vector<std::string> blocked_by;
      for (const auto& need : plan_.checks[i].spec.needs) {
        const auto& dep = results_[index_of_.at(need)];
        if (!dep)
          ready = false;
        else if (!passed(dep->status))
          blocked_by.push_back(need);
      }
      if (!ready) continue;
      if (!blocked_by.empty()) {
        skip_blocked(i, blocked_by);
        started_any = true;
        continue;
      }
      if (active_ >= jobs_) continue;
      start_check(i);
      started_any = true;
    }
    return started_any;
  }

  // A check whose prerequisite did not pass is skipped, naming the first one.
  void skip_blocked(size_t i, const std::vector<std::string>& blocked_by) {
    started_[i] = true;
    const auto& dep = *results_[index_of_.at(blocked_by.front())];
    finish(i, skipped_result(plan_.checks[i],
                             "skipped: it needs '" + blocked_by.front() + "', which " +
                                 (dep.status == Status::skipped
                                      ? "was skipped"
                                      : "ended with status " + std::string(to_string(dep.status))),
                             {{"blocked_by", blocked_by}}));
  }

  void start_check(size_t i) {
    const auto& c = plan_.checks[i];
    started_[i] = true;
    if (!c.cannot_run.empty()) {
      CheckResult r = skipped_result(c, "not run: " + c.cannot_run, {});
      r.status = Status::error;
      r.unconfigured = true;
      r.remediation = c.cannot_run_remedy.empty()
                          ? "Give the check what its parameters name, then run it again."
                          : c.cannot_run_remedy;
      finish(i, std::move(r));
      return;
    }
    std::string scratch = scratch_dirs_.acquire();
    try {
      running_[i] = std::make_unique<CheckProcess>(c, scrubber_, plan_.hidden_env,
                                                   options_.stop_grace, scratch);
      ++active_;
      spdlog::debug("check {} started (pid {})", c.spec.id, running_[i]->pid());
    } catch (const std::exception& e) {
      scratch_dirs_.release(scratch);
      CheckResult r = skipped_result(c, std::string("could not start the check: ") + e.what(), {});
      r.status = Status::error;
      r.remediation =
          "The machine is out of processes or file descriptors; free some and run again.";
      finish(i, std::move(r));
    }
  }

  void settle_unstarted(bool interrupted) {
    for (size_t i = 0; i < n_; ++i) {
      if (results_[i]) continue;
      if (interrupted) started_[i] = true;
      results_[i] = skipped_result(
          plan_.checks[i],
          interrupted ? "not run: the run was interrupted" : "not run: unmet needs", {});
      add_relations(*results_[i], plan_.checks[i]);
      ++done_;
    }
  }

  // Waits for output, an exit, a deadline or an interrupt, and reads what arrived.
  void wait_for_events() {
    std::vector<pollfd> fds;
    std::vector<size_t> owner;
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + std::chrono::milliseconds(100);
    for (size_t i = 0; i < n_; ++i) {
      if (!running_[i]) continue;
      bool open = false;
      for (int fd : {running_[i]->message_fd(), running_[i]->stderr_fd()}) {
        if (fd < 0) continue;
        fds.push_back({fd, POLLIN, 0});
        owner.push_back(i);
        open = true;
      }
      // Both pipes at EOF: the child is exiting; look again almost at once rather than sleep.
      next_deadline = std::min(next_deadline,
                               open ? running_[i]->deadline() : now + std::chrono::milliseconds(1));
    }
    if (options_.interrupt_fd >= 0) {
      fds.push_back({options_.interrupt_fd, POLLIN, 0});
      owner.push_back(n_);
    }
    auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count();
    // Cap the wait: a child whose pipes are held open by a grandchild is noticed by waitpid.
    int ready =
        poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait_ms, 0, 50)));
    if (ready < 0 && errno != EINTR) spdlog::warn("poll: {}", sdk::errno_text(errno));
    for (size_t k = 0; ready > 0 && k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      if (owner[k] == n_)
        on_interrupt();
      else if (running_[owner[k]])
        running_[owner[k]]->read_available(fds[k].fd);
    }
  }

  void on_interrupt() {
    char buf[64];
    ssize_t ignored = read(options_.interrupt_fd, buf, sizeof buf);  // one read: never blocks
    (void)ignored;
    if (interrupted_) return;
    interrupted_ = true;
    spdlog::warn("interrupted: stopping {} running check(s)", active_);
    // SIGTERM now (each check cleans up), SIGKILL from reap_exited() after the grace.
    for (auto& p : running_)
      if (p) p->mark_interrupted(), p->stop();
  }

  // Stops checks past their deadline and collects the ones that exited.
  void reap_exited() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_notice_ > std::chrono::milliseconds(250)) notify();  // keeps a progress line
    std::vector<std::string> ended_scratch;
    bool sweep = false;  // a check ended that may have left something behind
    for (size_t i = 0; i < n_; ++i) {
      auto& p = running_[i];
      if (!p) continue;
      if (!p->poll_exit() && now >= p->deadline()) {
        // The grace period before its timeout: SIGTERM, so that the check can clean up (drop
        // its scratch database, stop its programs); at the timeout itself, SIGKILL.
        if (!p->stopping()) {
          p->mark_timed_out();
          spdlog::debug("check {} timed out; stopping it", plan_.checks[i].spec.id);
        }
        p->stop();
      }
      if (p->exited()) {
        --active_;
        if (!p->exited_cleanly()) sweep = true;
        ended_scratch.push_back(p->scratch_dir());
        finish(i, p->result());
      }
    }
    // A check that ended cleanly killed what it started itself; only after one that did not
    // can something of it have come to us. Its directories are reused only once that is gone.
    bool all_gone = !sweep || kill_strays();
    for (const auto& dir : ended_scratch) scratch_dirs_.release(dir, all_gone);
  }

  // True when nothing is left (or nothing could be found to kill).
  bool kill_strays() {
    std::set<pid_t> expected = keep_;
    for (const auto& p : running_)
      if (p && !p->exited()) expected.insert(p->pid());
    Sweep sweep = kill_children_except(expected);
    if (sweep.killed)
      spdlog::debug("killed {} process(es) left behind by finished checks", sweep.killed);
    if (!sweep.complete)
      spdlog::warn(
          "could not kill everything the checks left behind within 2s ({} killed so "
          "far); look for the rest with `ps -ef --forest` as root",
          sweep.killed);
    return sweep.complete;
  }

  void notify() {
    if (!options_.on_progress) return;
    last_notice_ = std::chrono::steady_clock::now();
    RunProgress p{done_, n_, {}};
    for (size_t i = 0; i < n_; ++i)
      if (running_[i]) p.running.push_back(plan_.checks[i].spec.id);
    options_.on_progress(p);
  }

  void finish(size_t i, CheckResult r) {
    add_relations(r, plan_.checks[i]);
    results_[i] = std::move(r);
    running_[i].reset();
    ++done_;
    notify();
  }

  const Plan& plan_;
  const RunnerOptions& options_;
  const Scrubber& scrubber_;
  const size_t n_;
  const unsigned jobs_;
  std::set<pid_t> keep_;
  // After the strays' bookkeeping and before the checks: removed when the run ends.
  ScratchPool scratch_dirs_{ScratchPool::default_base()};
  std::map<std::string, size_t> index_of_;
  std::vector<std::optional<CheckResult>> results_;
  std::vector<bool> started_;
  std::vector<std::unique_ptr<CheckProcess>> running_;
  size_t done_ = 0, active_ = 0;
  bool interrupted_ = false;
  std::chrono::steady_clock::time_point last_notice_;
};

}  // namespace

RunReport run_plan(const Plan& plan, const RunnerOptions& options, const Scrubber& scrubber) {
  RunReport report;
  report.profile = plan.profile;
  report.started_at = std::chrono::system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  signal(SIGPIPE, SIG_IGN);
  {
    PlanRun run(plan, options, scrubber);
    report.results = run.run();
    report.interrupted = run.interrupted();
  }
  report.duration = std::chrono::steady_clock::now() - t0;
  return report;
}

}  // namespace backup_doctor
