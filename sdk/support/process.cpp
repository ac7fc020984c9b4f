
#include <backup_doctor/support/process.hpp>
#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <backup_doctor/duration.hpp>

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace backup_doctor::support {

std::optional<UserIds> lookup_user(const std::string& name_or_id) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  getpwnam_r(name_or_id.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr && !name_or_id.empty() && name_or_id.size() < 10 &&
      name_or_id.find_first_not_of("0123456789") == std::string::npos) {
    getpwuid_r(static_cast<uid_t>(std::stoul(name_or_id)), &pw, buf.data(), buf.size(), &found);
  }
  if (found == nullptr) return std::nullopt;
  return UserIds{found->pw_name, found->pw_uid, found->pw_gid, found->pw_dir ? found->pw_dir : ""};
}

std::string ProcessResult::describe() const {
  if (!started) return "could not start: " + start_error;
  if (timed_out) return "timed out after " + format_duration(elapsed);
  if (cancelled) return "cancelled";
  if (signal != 0)
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    // Empty and relative entries would mean the working directory: never search those.
    if (!dir.empty() && dir[0] == '/') out.push_back(dir);
    start = end + 1;
  }
  return out;
}

bool executable_file(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

bool allowed_variable(std::string_view name) {
  return name == "LANG" || name == "LANGUAGE" || name == "TZ" || name.starts_with("LC_");
}

// The child's environment, built before fork (no allocation after it).
std::vector<std::string> child_environment(const ProcessOptions& o, const std::string& path) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && allowed_variable(kv.substr(0, eq)))
      env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  env["PATH"] = path;
  // The check's private scratch directory, for programs that run as root: what they leave
  // there goes with the check. Programs run as another user cannot write there.
  if (const char* tmp = std::getenv("TMPDIR");
      tmp && *tmp == '/' && (!o.as_user || o.as_user->uid == 0))
    env["TMPDIR"] = tmp;
  if (o.as_user) {
    env["HOME"] = o.as_user->home.empty() ? "/" : o.as_user->home;
    env["USER"] = env["LOGNAME"] = o.as_user->name;
  } else if (const char* home = std::getenv("HOME"); home && *home == '/') {
    env["HOME"] = home;
  }
  for (const auto& [k, v] : o.env) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Child side after fork(): only async-signal-safe calls, then execve.
[[noreturn]] void exec_child(char* const* args, const ProcessOptions& o, pid_t parent, int in_fd,
                             int out_fd, int err_fd, int status_fd, char* const* envp,
                             const std::vector<gid_t>& groups) {
  auto fail = [&](int err) {
    ssize_t ignored = write(status_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
  };
  setpgid(0, 0);  // its own process group: a timeout stops everything it started
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  // Nothing else the check holds open (backup files, the pipe to the core) reaches the program.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != status_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP}) signal(sig, SIG_DFL);
  struct rlimit no_core {};
  setrlimit(RLIMIT_CORE, &no_core);
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) fail(errno);
  if (o.as_user && geteuid() != o.as_user->uid) {
    if (setgroups(groups.size(), groups.data()) != 0) fail(errno);
    if (setresgid(o.as_user->gid, o.as_user->gid, o.as_user->gid) != 0) fail(errno);
    if (setresuid(o.as_user->uid, o.as_user->uid, o.as_user->uid) != 0) fail(errno);
    if (o.as_user->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) fail(EPERM);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  }
  // Set after the user switch (which clears it); if the check is already gone, so are we.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  execve(args[0], args, envp);
  fail(errno);
  _exit(127);
}

// Has `pid` exited? Leaves it unreaped (a zombie keeps its pid, so its process group id cannot
// be reused before we kill what is left in the group).
bool exited(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

}  // namespace

std::vector<gid_t> supplementary_groups(const UserIds& user) {
  int count = 16;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  while (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) {
    if (count <= static_cast<int>(groups.size())) return {user.gid};  // the lookup failed
    groups.resize(static_cast<size_t>(count));
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

std::string trusted_search_path() {
  const char* env = std::getenv("PATH");
  std::string out;
  for (const auto& dir : split_path(env && *env ? env : kDefaultPath)) {
    if (geteuid() == 0 && !untrusted_path_reason(dir).empty()) continue;
    out += (out.empty() ? "" : ":") + dir;
  }
  return out.empty() ? kDefaultPath : out;
}

std::string find_program(const std::string& name, const std::string& search_path) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos)
    return name[0] == '/' && executable_file(name) ? name : std::string();
  for (const auto& dir : split_path(search_path.empty() ? trusted_search_path() : search_path)) {
    std::string candidate = dir + "/" + name;
    if (executable_file(candidate)) return candidate;
  }
  return {};
}

std::string untrusted_program_reason(const std::string& program) {
  if (geteuid() != 0) return {};
  return untrusted_path_reason(program);
}

namespace {

// The program to run, found and vetted: its full path in argv[0]. False (with r.start_error,
// and r.refused_untrusted when it is not run as root) when it cannot be run.
bool resolve_program(std::vector<std::string>& argv, const ProcessOptions& o,
                     const std::string& path, ProcessResult& r) {
  std::string program = find_program(argv[0], path);
  if (program.empty()) {
    r.start_error = "'" + argv[0] + "' was not found on PATH or is not executable";
    return false;
  }
  r.program = program;
  const bool as_root = geteuid() == 0 && (!o.as_user || o.as_user->uid == 0);
  if (as_root) {
    if (std::string why = untrusted_program_reason(program); !why.empty()) {
      r.refused_untrusted = true;
      r.start_error =
          "not run as root: " + why + ", so running it would let that user run code as root";
      return false;
    }
  }
  argv[0] = program;
  return true;
}

// A started program: its pid and our ends of its pipes (-1 once closed).
struct Child {
  pid_t pid = -1;
  int in_fd = -1;             // its stdin, when we feed it
  int out_fds[2] = {-1, -1};  // its stdout and stderr
};

// Forks and execs the program; false (with r.start_error) when it did not start.
bool start_child(std::vector<std::string>& argv, const ProcessOptions& o, const std::string& path,
                 Child& child, ProcessResult& r) {
  std::vector<std::string> env_strings = child_environment(o, path);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // Looked up before fork: the child may only make async-signal-safe calls.
  const std::vector<gid_t> groups = o.as_user && geteuid() != o.as_user->uid
                                        ? supplementary_groups(*o.as_user)
                                        : std::vector<gid_t>{};

  int in_pipe[2] = {-1, -1}, out_pipe[2], err_pipe[2], status_pipe[2];
  if ((o.stdin_fd < 0 && pipe2(in_pipe, O_CLOEXEC)) || pipe2(out_pipe, O_CLOEXEC) ||
      pipe2(err_pipe, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) {
    r.start_error = std::string("pipe: ") + sdk::errno_text(errno);
    return false;
  }
  const int child_stdin = o.stdin_fd >= 0 ? o.stdin_fd : in_pipe[0];
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    r.start_error = std::string("fork: ") + sdk::errno_text(errno);
    return false;
  }
  if (pid == 0)
    exec_child(args.data(), o, parent, child_stdin, out_pipe[1], err_pipe[1], status_pipe[1],
               envp.data(), groups);
  setpgid(pid, pid);  // also from here, so that a kill right away reaches the group

  if (in_pipe[0] >= 0) close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(status_pipe[1]);

  // Did exec succeed? The status pipe closes on exec (CLOEXEC) or carries errno.
  int child_errno = 0;
  ssize_t n = read(status_pipe[0], &child_errno, sizeof child_errno);
  close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    if (in_pipe[1] >= 0) close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    r.start_error = argv[0] + ": " + sdk::errno_text(child_errno);
    return false;
  }
  child.pid = pid;
  child.in_fd = in_pipe[1];
  child.out_fds[0] = out_pipe[0];
  child.out_fds[1] = err_pipe[0];
  return true;
}

// Feeds the program's stdin from stdin_data or the producer, as fast as it takes it.
class InputFeed {
 public:
  InputFeed(const ProcessOptions& o, int& fd)
      : o_(o),
        fd_(fd),
        input_(o.stdin_producer ? std::string() : o.stdin_data),
        more_(static_cast<bool>(o.stdin_producer)) {
    if (fd_ >= 0 && input_.empty() && !more_)
      close_fd();
    else if (fd_ >= 0)
      fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  // The pipe has room: writes what it takes; closes it when everything was written.
  void on_writable() {
    if (off_ >= input_.size() && more_) {
      input_.clear();
      off_ = 0;
      more_ = o_.stdin_producer(input_);
    }
    ssize_t w = off_ < input_.size() ? write(fd_, input_.data() + off_, input_.size() - off_) : 0;
    if (w > 0) off_ += static_cast<size_t>(w);
    if ((w < 0 && errno != EAGAIN) || (off_ >= input_.size() && !more_)) close_fd();
  }
  void close_fd() {
    if (fd_ >= 0) close(fd_), fd_ = -1;
  }

 private:
  const ProcessOptions& o_;
  int& fd_;
  std::string input_;
  bool more_;
  size_t off_ = 0;
};

// Appends what one of the program's output pipes holds, up to max_output; closes it at EOF.
void read_output(int& fd, std::string& buf, const ProcessOptions& o, ProcessResult& r) {
  char chunk[65536];
  ssize_t got = read(fd, chunk, sizeof chunk);
  if (got <= 0) {
    close(fd);
    fd = -1;
    return;
  }
  size_t room = o.max_output > buf.size() ? o.max_output - buf.size() : 0;
  if (static_cast<size_t>(got) > room) r.truncated = true;
  buf.append(chunk, std::min(room, static_cast<size_t>(got)));
}

// Feeds and reads the program until it has exited and its pipes are drained, stopping it at its
// timeout or on cancellation.
//
// Stopping: SIGTERM to the group, and its output is still read, so that it can end cleanly (a
// closed pipe would kill it with SIGPIPE in its clean-up); SIGKILL when kill_at passes. Once it
// has exited, what it left in its group is killed and its output is read until the pipes close,
// for a moment at most: a process that escaped the group may hold them open, and must not keep
// us waiting.
void exchange(Child& child, const ProcessOptions& o,
              std::chrono::steady_clock::time_point started_at, ProcessResult& r) {
  using Clock = std::chrono::steady_clock;
  InputFeed feed(o, child.in_fd);
  signal(SIGPIPE, SIG_IGN);
  const auto deadline = started_at + o.timeout;
  std::string* bufs[2] = {&r.out, &r.err};
  std::optional<Clock::time_point> kill_at, drain_until;
  bool killed = false;
  for (;;) {
    auto now = Clock::now();
    if (!drain_until && exited(child.pid)) {
      kill(-child.pid, SIGKILL);
      drain_until = now + std::chrono::milliseconds(200);
    }
    const bool streams_open = child.out_fds[0] >= 0 || child.out_fds[1] >= 0;
    if (drain_until && (!streams_open || now >= *drain_until)) break;
    if (!drain_until && !kill_at) {
      bool cancel = o.cancelled && o.cancelled(o.cancelled_arg);
      if (cancel || now >= deadline) {
        (cancel ? r.cancelled : r.timed_out) = true;
        kill(-child.pid, SIGTERM);
        kill_at = now + o.kill_grace;
        feed.close_fd();
      }
    }
    if (kill_at && !killed && now >= *kill_at) {
      kill(-child.pid, SIGKILL);
      killed = true;
    }
    pollfd pfds[3];
    int count = 0;
    for (int fd : child.out_fds)
      if (fd >= 0) pfds[count++] = {fd, POLLIN, 0};
    if (child.in_fd >= 0) pfds[count++] = {child.in_fd, POLLOUT, 0};
    int ready = poll(pfds, count, 20);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; ready > 0 && i < count; ++i) {
      if (pfds[i].revents == 0) continue;
      if (pfds[i].fd == child.in_fd) {
        feed.on_writable();
        continue;
      }
      int which = pfds[i].fd == child.out_fds[0] ? 0 : 1;
      read_output(child.out_fds[which], *bufs[which], o, r);
    }
  }
  for (int& fd : child.out_fds)
    if (fd >= 0) close(fd), fd = -1;
  feed.close_fd();
}

// Kills what is left of the program's group and collects its exit status.
void reap(const Child& child, ProcessResult& r) {
  // Whatever the program left running in its group goes with it (a zombie program still holds
  // the group id, so this cannot reach anyone else).
  kill(-child.pid, SIGKILL);
  int st = 0;
  while (waitpid(child.pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st) && !r.timed_out && !r.cancelled) r.signal = WTERMSIG(st);
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv_in, const ProcessOptions& o) {
  ProcessResult r;
  auto started_at = std::chrono::steady_clock::now();
  if (argv_in.empty()) {
    r.start_error = "no program given";
    return r;
  }
  const std::string path = o.search_path.empty() ? trusted_search_path() : o.search_path;
  std::vector<std::string> argv = argv_in;
  if (!resolve_program(argv, o, path, r)) return r;
  Child child;
  if (!start_child(argv, o, path, child, r)) return r;
  r.started = true;
  exchange(child, o, started_at, r);
  reap(child, r);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_at);
  return r;
}

}  // namespace backup_doctor::support
