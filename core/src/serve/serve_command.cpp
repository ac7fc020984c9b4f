// The run loop and the signals: the HTTP endpoint serves from its own threads while this loop
// runs the checklist, publishes each finished run as one snapshot, then sleeps until the next
// run, a reload (SIGHUP) or a stop (SIGTERM, SIGINT: a run in progress is interrupted the way
// Ctrl-C interrupts `run`, its checks stopped and cleaned up).
#include "serve/serve_command.hpp"

#include "reporters/reporter.hpp"
#include "runner.hpp"
#include "serve/http_endpoint.hpp"
#include "serve/snapshot.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <backup_doctor/duration.hpp>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

namespace backup_doctor::serve {
namespace {

int g_signal_fd = -1;  // write end of the signal pipe

// SIGTERM/SIGINT/SIGHUP become bytes on a pipe ('T', 'H'), read by the loop.
int install_signal_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  g_signal_fd = fds[1];
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    const char c = sig == SIGHUP ? 'H' : 'T';
    ssize_t ignored = write(g_signal_fd, &c, 1);
    (void)ignored;
  };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  return fds[0];
}

// Waits up to `timeout` for a signal byte; returns it, or 0 on timeout.
char wait_for_signal(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : 0;
}

class Server {
 public:
  Server(const GlobalOptions& g, const RunOptions& o, Scrubber& scrubber, Prepared prepared,
         std::chrono::milliseconds interval, WebConfig web)
      : g_(g),
        o_(o),
        scrubber_(scrubber),
        prepared_(std::move(prepared)),
        interval_(interval),
        web_(std::move(web)) {}

  int run(const std::string& listen) {
    const int signals = install_signal_pipe();
    // A run in progress is stopped through the runner's interrupt pipe, fed from here.
    int stop_pipe[2];
    if (signals < 0 || pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      std::fprintf(stderr, "backup-doctor serve: cannot create a pipe: %s\n", std::strerror(errno));
      return 3;
    }
    HttpEndpoint http(
        store_, [this] { return serve_metrics(counters()); }, web_);
    if (!http.valid()) {
      std::fprintf(stderr,
                   "backup-doctor serve: the TLS certificate %s or key %s does not load; check "
                   "that they are PEM files and belong together\n",
                   web_.cert_file.c_str(), web_.key_file.c_str());
      return 3;
    }
    std::string error;
    if (!http.bind(listen, error)) {
      std::fprintf(stderr, "backup-doctor serve: %s\n", error.c_str());
      return 3;
    }
    std::fprintf(stderr,
                 "backup-doctor serve: listening on %s:%d%s (/metrics /healthz /report.json)\n",
                 http.host().c_str(), http.port(), web_.cert_file.empty() ? "" : " over TLS");
    const bool loopback =
        http.host() == "127.0.0.1" || http.host() == "::1" || http.host() == "localhost";
    if (!loopback && web_.users.empty())
      std::fprintf(stderr,
                   "backup-doctor serve: warning: %s is reachable from other hosts and anyone who "
                   "can reach it reads the report (paths, hosts, findings); add basic_auth_users "
                   "and TLS with --web-config\n",
                   listen.c_str());
    std::thread web([&] { http.serve(); });
    // The loop runs in its own thread so that a stop reaches a run in progress at once.
    std::atomic<bool> stopping{false};
    std::thread loop([&] { run_loop(stop_pipe[0], stopping); });
    for (;;) {
      const char c = wait_for_signal(signals, std::chrono::hours(1));
      if (c == 'H') {
        reload_requested_ = true;
        wake();
      } else if (c == 'T') {
        break;
      }
    }
    stopping = true;
    const char stop = 1;
    ssize_t ignored = write(stop_pipe[1], &stop, 1);
    (void)ignored;
    wake();
    loop.join();
    http.stop();
    web.join();
    std::fprintf(stderr, "backup-doctor serve: stopped\n");
    return 0;
  }

 private:
  ServeCounters counters() const {
    std::lock_guard lock(counters_mutex_);
    return counters_;
  }

  void wake() {
    std::lock_guard lock(wait_mutex_);
    woken_ = true;
    wait_cv_.notify_all();
  }

  // Runs now, then every interval; a first wait of up to a tenth of the interval at random
  // after the first run spreads a fleet that started together (no stampede at :00).
  void run_loop(int stop_fd, const std::atomic<bool>& stopping) {
    std::mt19937_64 random(std::random_device{}());
    auto next_wait = std::chrono::milliseconds(
        interval_.count() + static_cast<long>(random() % (interval_.count() / 10 + 1)));
    while (!stopping) {
      if (reload_requested_.exchange(false)) reload();
      run_once(stop_fd);
      std::unique_lock lock(wait_mutex_);
      wait_cv_.wait_for(lock, next_wait, [&] { return woken_ || stopping; });
      woken_ = false;
      next_wait = interval_;
    }
  }

  void run_once(int stop_fd) {
    RunnerOptions ro;
    ro.jobs = o_.jobs ? o_.jobs : default_jobs();
    ro.interrupt_fd = stop_fd;
    const auto started = std::chrono::steady_clock::now();
    RunReport report = run_plan(prepared_.plan, ro, scrubber_);
    report.checklist_name = prepared_.checklist.name;
    report.checklist_file = prepared_.checklist.file.string();
    if (report.interrupted) return;  // stopping: the last complete results stay
    auto s = std::make_shared<Snapshot>();
    RenderOptions options;
    for (const auto& r : prepared_.registry->refused())
      options.refused_plugins.push_back({r.file.string(), r.reason});
    s->metrics = scrubber_.scrub(render_prometheus(report, options));
    s->report_json = scrubber_.scrub(render_json(report));
    s->healthy = rank(report.overall()) <= rank(Status::warn);
    s->have_results = true;
    store_.publish(std::move(s));
    std::lock_guard lock(counters_mutex_);
    ++counters_.runs;
    counters_.last_run_duration =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // SIGHUP: the checklist is read and validated again; only a valid one replaces the running one.
  void reload() {
    auto fresh = prepare(g_, o_, true, scrubber_);
    std::lock_guard lock(counters_mutex_);
    counters_.last_reload_failed = !fresh;
    if (!fresh) {
      spdlog::error("serve: {} is not valid (see above); still running the previous checklist",
                    o_.checklist);
      return;
    }
    prepared_ = std::move(*fresh);
    spdlog::info("serve: reloaded {}", o_.checklist);
  }

  const GlobalOptions& g_;
  const RunOptions& o_;
  Scrubber& scrubber_;
  Prepared prepared_;
  std::chrono::milliseconds interval_;
  WebConfig web_;
  SnapshotStore store_;
  mutable std::mutex counters_mutex_;
  ServeCounters counters_;
  std::atomic<bool> reload_requested_{false};
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
  bool woken_ = false;
};

}  // namespace

int command_serve(const GlobalOptions& g, const RunOptions& o, const ServeOptions& s,
                  Scrubber& scrubber) {
  auto interval = sdk::parse_duration(s.interval);
  // Down to 10ms, for tests and bench/serve; a real fleet wants minutes.
  if (!interval || interval->count() < 10) {
    std::fprintf(stderr,
                 "backup-doctor serve: --interval %s: expected a duration of at least 10ms, e.g. "
                 "15m, 1h\n",
                 s.interval.c_str());
    return 3;
  }
  if (o.checklist == "-") {
    std::fprintf(stderr,
                 "backup-doctor serve: give a checklist file, not - (serve reads it again on "
                 "SIGHUP)\n");
    return 3;
  }
  auto prepared = prepare(g, o, true, scrubber);
  if (!prepared) {
    std::fprintf(stderr, "backup-doctor serve: %s is not valid; not serving\n",
                 o.checklist.c_str());
    return 3;
  }
  WebConfig web;
  if (!s.web_config.empty()) {
    std::string error;
    auto loaded = load_web_config(s.web_config, error);
    if (!loaded) {
      std::fprintf(stderr, "backup-doctor serve: --web-config %s\n", error.c_str());
      return 3;
    }
    web = std::move(*loaded);
  }
  Server server(g, o, scrubber, std::move(*prepared), *interval, std::move(web));
  return server.run(s.listen);
}

}  // namespace backup_doctor::serve
