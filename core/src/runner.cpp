#include "runner.hpp"

#include "check_process.hpp"
#include "process_tree.hpp"
#include "scratch_pool.hpp"

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

RunReport run_plan(const Plan& plan, const RunnerOptions& options, const Scrubber& scrubber) {
  RunReport report;
  report.profile = plan.profile;
  report.started_at = std::chrono::system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  signal(SIGPIPE, SIG_IGN);

  // Everything a check leaves behind is re-parented to us once its check process is gone, and
  // killed (process_tree.hpp). Children we had before the run are not the run's business.
  become_subreaper();
  std::set<pid_t> keep;
  for (pid_t p : child_processes()) keep.insert(p);
  // True when nothing is left (or nothing could be found to kill).
  auto kill_strays = [&](const std::vector<std::unique_ptr<CheckProcess>>& live) {
    std::set<pid_t> expected = keep;
    for (const auto& p : live)
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
  };

  // Declared after the strays' bookkeeping and before the checks: removed when the run ends.
  ScratchPool scratch_dirs(ScratchPool::default_base());

  const size_t n = plan.checks.size();
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < n; ++i) index_of[plan.checks[i].spec.id] = i;
  std::vector<std::optional<CheckResult>> results(n);
  std::vector<bool> started(n, false);
  std::vector<std::unique_ptr<CheckProcess>> running(n);
  size_t done = 0, active = 0;
  bool interrupted = false;
  const unsigned jobs = std::max(1u, options.jobs);

  auto last_notice = std::chrono::steady_clock::now();
  auto notify = [&] {
    if (!options.on_progress) return;
    last_notice = std::chrono::steady_clock::now();
    RunProgress p{done, n, {}};
    for (size_t i = 0; i < n; ++i)
      if (running[i]) p.running.push_back(plan.checks[i].spec.id);
    options.on_progress(p);
  };
  auto finish = [&](size_t i, CheckResult r) {
    results[i] = std::move(r);
    running[i].reset();
    ++done;
    notify();
  };

  while (done < n) {
    // Start whatever is ready, in checklist order.
    bool started_any = false;
    for (size_t i = 0; i < n && !interrupted; ++i) {
      if (started[i]) continue;
      const auto& c = plan.checks[i];
      bool ready = true;
      std::vector<std::string> blocked_by;
      for (const auto& need : c.spec.needs) {
        const auto& dep = results[index_of.at(need)];
        if (!dep)
          ready = false;
        else if (!passed(dep->status))
          blocked_by.push_back(need);
      }
      if (!ready) continue;
      if (!blocked_by.empty()) {
        started[i] = true;
        const auto& dep = *results[index_of.at(blocked_by.front())];
        finish(i,
               skipped_result(c,
                              "skipped: it needs '" + blocked_by.front() + "', which " +
                                  (dep.status == Status::skipped
                                       ? "was skipped"
                                       : "ended with status " + std::string(to_string(dep.status))),
                              {{"blocked_by", blocked_by}}));
        started_any = true;
        continue;
      }
      if (active >= jobs) continue;
      started[i] = true;
      std::string scratch = scratch_dirs.acquire();
      try {
        running[i] = std::make_unique<CheckProcess>(c, scrubber, plan.hidden_env,
                                                    options.stop_grace, scratch);
        ++active;
        spdlog::debug("check {} started (pid {})", c.spec.id, running[i]->pid());
      } catch (const std::exception& e) {
        scratch_dirs.release(scratch);
        CheckResult r =
            skipped_result(c, std::string("could not start the check: ") + e.what(), {});
        r.status = Status::error;
        r.remediation =
            "The machine is out of processes or file descriptors; free some and run again.";
        finish(i, std::move(r));
      }
      started_any = true;
    }
    if (started_any) notify();
    if (done == n) break;
    if (active == 0) {
      if (interrupted) {
        for (size_t i = 0; i < n; ++i)
          if (!results[i])
            started[i] = true,
            results[i] = skipped_result(plan.checks[i], "not run: the run was interrupted", {}),
            ++done;
        break;
      }
      if (!started_any) {
        // Unreachable with a validated plan (no cycles); fail safe rather than spin.
        for (size_t i = 0; i < n; ++i)
          if (!results[i])
            results[i] = skipped_result(plan.checks[i], "not run: unmet needs", {}), ++done;
        break;
      }
      continue;
    }

    // Wait for output, an exit, a deadline or an interrupt.
    std::vector<pollfd> fds;
    std::vector<size_t> owner;
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + std::chrono::milliseconds(100);
    for (size_t i = 0; i < n; ++i) {
      if (!running[i]) continue;
      bool open = false;
      for (int fd : {running[i]->message_fd(), running[i]->stderr_fd()})
        if (fd >= 0) fds.push_back({fd, POLLIN, 0}), owner.push_back(i), open = true;
      // Both pipes at EOF: the child is exiting; look again almost at once rather than sleep.
      next_deadline = std::min(next_deadline,
                               open ? running[i]->deadline() : now + std::chrono::milliseconds(1));
    }
    if (options.interrupt_fd >= 0)
      fds.push_back({options.interrupt_fd, POLLIN, 0}), owner.push_back(n);
    auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count();
    // Cap the wait: a child whose pipes are held open by a grandchild is noticed by waitpid.
    int ready =
        poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait_ms, 0, 50)));
    if (ready < 0 && errno != EINTR) spdlog::warn("poll: {}", std::strerror(errno));
    for (size_t k = 0; ready > 0 && k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      if (owner[k] == n) {
        char buf[64];
        ssize_t ignored =
            read(options.interrupt_fd, buf, sizeof buf);  // one read: never blocks here
        (void)ignored;
        if (!interrupted) {
          interrupted = true;
          report.interrupted = true;
          spdlog::warn("interrupted: stopping {} running check(s)", active);
          // SIGTERM now (each check cleans up), SIGKILL from the loop below after the grace.
          for (auto& p : running)
            if (p) p->mark_interrupted(), p->stop();
        }
        continue;
      }
      if (running[owner[k]]) running[owner[k]]->read_available(fds[k].fd);
    }

    now = std::chrono::steady_clock::now();
    if (now - last_notice > std::chrono::milliseconds(250))
      notify();  // keeps a progress line alive
    std::vector<std::string> ended_scratch;
    bool sweep = false;  // a check ended that may have left something behind
    for (size_t i = 0; i < n; ++i) {
      auto& p = running[i];
      if (!p) continue;
      if (!p->poll_exit() && now >= p->deadline()) {
        // The grace period before its timeout: SIGTERM, so that the check can clean up (drop
        // its scratch database, stop its programs); at the timeout itself, SIGKILL.
        if (!p->stopping()) {
          p->mark_timed_out();
          spdlog::debug("check {} timed out; stopping it", plan.checks[i].spec.id);
        }
        p->stop();
      }
      if (p->exited()) {
        --active;
        if (!p->exited_cleanly()) sweep = true;
        ended_scratch.push_back(p->scratch_dir());
        finish(i, p->result());
      }
    }
    // A check that ended cleanly killed what it started itself; only after one that did not
    // can something of it have come to us. Its directories are reused only once that is gone.
    bool all_gone = !sweep || kill_strays(running);
    for (const auto& dir : ended_scratch) scratch_dirs.release(dir, all_gone);
  }

  kill_strays(running);
  for (auto& r : results)
    if (r) report.results.push_back(std::move(*r));
  report.duration = std::chrono::steady_clock::now() - t0;
  return report;
}

}  // namespace backup_doctor
