#include "check_process.hpp"

#include "process_tree.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/duration.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace backup_doctor {
namespace {

constexpr size_t kStderrTail = 4096;
// A message line longer than this (a plugin gone wrong, or not ours) is dropped, not buffered.
constexpr size_t kMaxLine = 16u << 20;

// ---- child side -------------------------------------------------------------------------

volatile sig_atomic_t g_child_cancelled = 0;
int g_child_fd = -1;

void write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(120);  // the parent is gone; nothing left to report to
    off += static_cast<size_t>(n);
  }
}

void send(const nlohmann::json& message) {
  write_all(g_child_fd,
            message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

const bd_host_api* child_host_api() {
  static const bd_host_api host = {
      .struct_size = sizeof(bd_host_api),
      .abi_major = BD_ABI_MAJOR,
      .abi_minor = BD_ABI_MINOR,
      .report =
          [](bd_call*, bd_status status, bd_str summary, bd_str remediation, bd_str details) {
            send({{"t", "report"},
                  {"status", status},
                  {"summary", sdk::from_bd(summary)},
                  {"remediation", sdk::from_bd(remediation)},
                  {"details", sdk::from_bd(details)}});
          },
      .metric =
          [](bd_call*, bd_str name, double value, bd_str unit, bd_str labels) {
            send({{"t", "metric"},
                  {"name", sdk::from_bd(name)},
                  {"value", value},
                  {"unit", sdk::from_bd(unit)},
                  {"labels", sdk::from_bd(labels)}});
          },
      .log =
          [](bd_call*, int32_t level, bd_str message) {
            send({{"t", "log"}, {"level", level}, {"message", sdk::from_bd(message)}});
          },
      .progress =
          [](bd_call*, double fraction, bd_str message) {
            send({{"t", "progress"}, {"fraction", fraction}, {"message", sdk::from_bd(message)}});
          },
      .error =
          [](bd_call*, bd_str message) {
            send({{"t", "error"}, {"message", sdk::from_bd(message)}});
          },
      // A signal handler sets the flag: safe to read from any thread.
      .cancelled = [](bd_call*) -> int32_t { return g_child_cancelled ? 1 : 0; },
  };
  return &host;
}

[[noreturn]] void child_main(const PlannedCheck& check, int msg_fd, int err_fd, pid_t parent,
                             const std::string& scratch_dir,
                             const std::vector<std::string>& hidden_env) {
  setpgid(0, 0);  // own process group: stopping the check reaches what it started
  // Dies with the runner; if the runner is already gone, there is nobody to report to.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(121);
  become_subreaper();  // what its programs leave behind stays ours, and is killed below
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_DFL);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_child_cancelled = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);  // a plugin printing to stdout must not corrupt a report on stdout
  dup2(err_fd, 2);
  g_child_fd = msg_fd;
  for (const auto& name : hidden_env) unsetenv(name.c_str());
  if (!scratch_dir.empty()) setenv("TMPDIR", scratch_dir.c_str(), 1);

  std::string params = check.params.dump();
  const LoadedPlugin& p = *check.plugin;
  bd_rc rc = p.api->run_check(p.instance, bd_str{check.spec.use.data(), check.spec.use.size()},
                              bd_str{params.data(), params.size()}, child_host_api(),
                              reinterpret_cast<bd_call*>(&g_child_fd));
  send({{"t", "done"}, {"rc", rc}});
  kill_children_except({});
  // 0 tells the runner that nothing the check started is left (it need not look for strays).
  // _exit: no atexit handlers or static destructors, they belong to the parent.
  _exit(has_children() ? 3 : 0);
}

}  // namespace

// ---- parent side ------------------------------------------------------------------------

CheckProcess::CheckProcess(const PlannedCheck& check, const Scrubber& scrubber,
                           const std::vector<std::string>& hidden_env,
                           std::chrono::milliseconds grace, std::string scratch_dir)
    : check_(check),
      scrubber_(scrubber),
      grace_(std::min(
          grace, std::chrono::duration_cast<std::chrono::milliseconds>(check.spec.timeout / 4))),
      scratch_dir_(std::move(scratch_dir)) {
  int msg[2], err[2];
  if (pipe2(msg, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + sdk::errno_text(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(msg[0]), close(msg[1]);
    throw std::runtime_error(std::string("pipe: ") + sdk::errno_text(errno));
  }
  fflush(nullptr);
  started_wall_ = std::chrono::system_clock::now();
  started_ = std::chrono::steady_clock::now();
  deadline_ = started_ + check.spec.timeout;
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    int e = errno;
    close(msg[0]), close(msg[1]), close(err[0]), close(err[1]);
    throw std::runtime_error(std::string("fork: ") + sdk::errno_text(e));
  }
  if (pid_ == 0) {
    close(msg[0]);
    close(err[0]);
    child_main(check, msg[1], err[1], parent, scratch_dir_, hidden_env);
  }
  setpgid(pid_, pid_);  // also from here, so a kill right after fork reaches the group
  close(msg[1]);
  close(err[1]);
  msg_fd_ = msg[0];
  err_fd_ = err[0];
  fcntl(msg_fd_, F_SETFL, O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

CheckProcess::~CheckProcess() {
  if (!exited_ && pid_ > 0) kill_and_wait();
  close_fds();
}

void CheckProcess::close_fds() {
  if (msg_fd_ >= 0) close(msg_fd_), msg_fd_ = -1;
  if (err_fd_ >= 0) close(err_fd_), err_fd_ = -1;
}

void CheckProcess::read_available(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) {  // EOF: stop polling this fd
        if (fd == msg_fd_) close(msg_fd_), msg_fd_ = -1;
        if (fd == err_fd_) close(err_fd_), err_fd_ = -1;
      }
      return;
    }
    if (fd == msg_fd_) {
      std::string_view chunk(buf, static_cast<size_t>(n));
      while (!chunk.empty()) {
        size_t nl = chunk.find('\n');
        std::string_view part = chunk.substr(0, nl);
        if (!overlong_line_ && line_buffer_.size() + part.size() > kMaxLine) {
          overlong_line_ = true;
          line_buffer_.clear();
          if (error_.empty())
            error_ = "the plugin sent a message line longer than " +
                     std::to_string(kMaxLine >> 20) + " MiB; it was dropped";
        }
        if (!overlong_line_) line_buffer_.append(part);
        if (nl == std::string_view::npos) break;
        if (!overlong_line_) handle_line(line_buffer_);
        line_buffer_.clear();
        overlong_line_ = false;
        chunk.remove_prefix(nl + 1);
      }
    } else {
      stderr_tail_.append(buf, static_cast<size_t>(n));
      if (stderr_tail_.size() > kStderrTail)
        stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
    }
  }
}

void CheckProcess::handle_line(const std::string& line) {
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(line);
  } catch (...) {
    return;  // a corrupted line is ignored; the missing "done" tells the story
  }
  auto parse_object = [](const std::string& text) {
    if (text.empty()) return nlohmann::json::object();
    try {
      auto j = nlohmann::json::parse(text);
      return j.is_object() ? j : nlohmann::json{{"value", j}};
    } catch (...) {
      return nlohmann::json{{"unparsed", text}};
    }
  };
  const std::string t = m.value("t", "");
  if (t == "report") {
    reported_ = true;
    status_ = m.value("status", BD_STATUS_ERROR);
    summary_ = scrubber_.scrub(m.value("summary", ""));
    remediation_ = scrubber_.scrub(m.value("remediation", ""));
    details_ = scrubber_.scrub_json(parse_object(m.value("details", "")));
  } else if (t == "metric") {
    Metric metric;
    metric.name = m.value("name", "");
    metric.value = m["value"].is_number() ? m["value"].get<double>() : std::nan("");
    metric.unit = m.value("unit", "");
    metric.labels = scrubber_.scrub_json(parse_object(m.value("labels", "")));
    metrics_.push_back(std::move(metric));
  } else if (t == "log") {
    logs_.push_back(scrubber_.scrub(m.value("message", "")));
  } else if (t == "error") {
    error_ = scrubber_.scrub(m.value("message", ""));
  } else if (t == "done") {
    done_rc_ = m.value("rc", BD_RC_ERROR);
  }
}

bool CheckProcess::poll_exit() {
  if (exited_) return true;
  // Look without reaping: while the child is an unreaped zombie its process group id stays
  // ours, so the kill in reap() cannot reach anyone else.
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_)
    return false;
  reap();
  return true;
}

void CheckProcess::reap() {
  kill(-pid_, SIGKILL);  // whatever is left in its process group goes with it
  while (waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  finished_ = std::chrono::steady_clock::now();
  // Whatever it wrote before exiting is still in the pipes.
  if (msg_fd_ >= 0) read_available(msg_fd_);
  if (err_fd_ >= 0) read_available(err_fd_);
  if (!line_buffer_.empty() && !overlong_line_) handle_line(line_buffer_);
  line_buffer_.clear();
  close_fds();
}

void CheckProcess::stop() {
  if (exited_) return;
  auto now = std::chrono::steady_clock::now();
  if (kill_at_) {
    if (now >= *kill_at_) kill(-pid_, SIGKILL);
    return;
  }
  kill_at_ = now + grace_;
  kill(-pid_, SIGTERM);
}

void CheckProcess::kill_and_wait() {
  if (exited_) return;
  kill(-pid_, SIGKILL);
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  reap();
}

CheckResult CheckProcess::result() const {
  CheckResult r;
  const auto& spec = check_.spec;
  r.id = spec.id;
  r.type = spec.use;
  r.plugin = check_.plugin->name;
  r.description = spec.description;
  r.tags = spec.tags;
  r.severity = spec.severity;
  r.started_at = started_wall_;
  r.duration = finished_ - started_;
  r.metrics = metrics_;
  r.logs = logs_;
  const std::string who =
      "plugin '" + check_.plugin->name + "' (" + check_.plugin->file.string() + ")";
  std::string tail = scrubber_.scrub(stderr_tail_);

  auto error = [&](std::string summary, std::string remediation) {
    r.status = Status::error;
    r.summary = std::move(summary);
    r.remediation = std::move(remediation);
    r.details = nlohmann::json::object();
    r.details["plugin_file"] = check_.plugin->file.string();
    if (!tail.empty()) r.details["stderr"] = tail;
    if (reported_) r.details["last_reported_summary"] = summary_;
  };

  if (interrupted_) {
    error("interrupted before it finished (the run was stopped)",
          "Run the checklist again and let it finish; use --only " + spec.id +
              " to re-run just this check.");
    return r;
  }
  if (timed_out_) {
    error("did not finish within its timeout of " + format_duration(spec.timeout) +
              " and was stopped",
          "Find out what " + spec.use +
              " is waiting on (an unreachable host, a server that accepts but never answers, a "
              "stuck mount). If the target is merely slow, raise \"timeout\" for check '" +
              spec.id + "' in the checklist.");
    return r;
  }
  if (WIFSIGNALED(wait_status_)) {
    int sig = WTERMSIG(wait_status_);
    error(std::string("the check crashed: ") + who + " was killed by signal " +
              std::to_string(sig) + " (" + strsignal(sig) + ")",
          "This is a bug in the plugin, not a finding about your backups. Report it to the "
          "plugin's authors with this check's parameters; the other checks were not affected.");
    r.details["signal"] = sig;
    return r;
  }
  if (!done_rc_) {
    int code = WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : -1;
    error(
        "the check exited early (exit code " + std::to_string(code) + ") without a result: " + who,
        "The plugin ended the process instead of returning a result, which is a bug in the "
        "plugin; report it to its authors with this check's parameters.");
    r.details["exit_code"] = code;
    return r;
  }
  if (*done_rc_ == BD_RC_UNKNOWN_CHECK) {
    error(who + " does not implement check type '" + spec.use + "'",
          "The plugin advertises this type in describe() but refused to run it; upgrade or fix "
          "the plugin.");
    return r;
  }
  if (*done_rc_ != BD_RC_OK || !reported_) {
    std::string why = !error_.empty() ? error_
                      : reported_     ? "the plugin returned an error code"
                                      : "the plugin returned without a result";
    error("the check could not run: " + why,
          "Check the parameters of '" + spec.id + "' against 'backup-doctor describe " + spec.use +
              "'. If they are right, this is a problem in " + who +
              "; run with --log-level debug "
              "to see its log.");
    return r;
  }
  if (status_ < BD_STATUS_OK || status_ > BD_STATUS_SKIPPED) {
    error("the plugin reported an unknown status " + std::to_string(status_),
          "Upgrade backup-doctor or fix the plugin: statuses are 0 ok to 4 skipped.");
    return r;
  }
  r.status = static_cast<Status>(status_);
  r.summary = summary_;
  r.remediation = remediation_;
  r.details = details_;
  if (r.status != Status::ok && r.status != Status::skipped && r.remediation.empty())
    r.remediation =
        "(the plugin gave no remediation for this " + std::string(to_string(r.status)) + " result)";
  return r;
}

}  // namespace backup_doctor
