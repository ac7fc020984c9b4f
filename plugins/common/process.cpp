#include "process.hpp"

#include <backup_doctor/duration.hpp>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
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
  if (found == nullptr && !name_or_id.empty() &&
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

std::string find_program(const std::string& name) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return executable(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

namespace {

// Child side after fork(): only async-signal-safe work plus execve.
[[noreturn]] void exec_child(char* const* args, const ProcessOptions& o, int in_fd, int out_fd,
                             int err_fd, int status_fd, char* const* envp) {
  auto fail = [&](int err) {
    ssize_t ignored = write(status_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
  };
  setpgid(0, 0);  // its own process group, so a timeout kills its children too
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) fail(errno);
  if (o.as_user) {
    if (geteuid() != o.as_user->uid) {
      if (initgroups(o.as_user->name.c_str(), o.as_user->gid) != 0) fail(errno);
      if (setgid(o.as_user->gid) != 0) fail(errno);
      if (setuid(o.as_user->uid) != 0) fail(errno);
    }
  }
  execve(args[0], args, envp);
  fail(errno);
  _exit(127);
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv_in, const ProcessOptions& o) {
  ProcessResult r;
  auto started_at = std::chrono::steady_clock::now();
  if (argv_in.empty()) {
    r.start_error = "no program given";
    return r;
  }
  std::vector<std::string> argv = argv_in;
  std::string program = find_program(argv[0]);
  if (program.empty()) {
    r.start_error = "'" + argv[0] + "' was not found on PATH or is not executable";
    return r;
  }
  argv[0] = program;

  // Environment, built before fork (allocation is not safe after it in a threaded parent).
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& name : o.unset_env) env.erase(name);
  for (const auto& [k, v] : o.env) env[k] = v;
  if (o.as_user) {
    env["HOME"] = o.as_user->home;
    env["USER"] = env["LOGNAME"] = o.as_user->name;
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2], status_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC) ||
      pipe2(status_pipe, O_CLOEXEC)) {
    r.start_error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  pid_t pid = fork();
  if (pid < 0) {
    r.start_error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0)
    exec_child(args.data(), o, in_pipe[0], out_pipe[1], err_pipe[1], status_pipe[1], envp.data());

  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(status_pipe[1]);

  // Did exec succeed? The status pipe closes on exec (CLOEXEC) or carries errno.
  int child_errno = 0;
  ssize_t n = read(status_pipe[0], &child_errno, sizeof child_errno);
  close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    r.start_error = argv[0] + ": " + std::strerror(child_errno);
    return r;
  }
  r.started = true;

  // Feed stdin (small inputs; a blocked write would be caught by the timeout loop below).
  size_t in_off = 0;
  if (o.stdin_data.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  signal(SIGPIPE, SIG_IGN);

  auto deadline = started_at + o.timeout;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* bufs[2] = {&r.out, &r.err};
  int open_streams = 2;
  char chunk[65536];
  while (open_streams > 0) {
    if (o.cancelled && o.cancelled(o.cancelled_arg)) {
      r.cancelled = true;
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      r.timed_out = true;
      break;
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfds[3];
    int count = 0;
    for (int fd : fds)
      if (fd >= 0) pfds[count++] = {fd, POLLIN, 0};
    if (in_pipe[1] >= 0) pfds[count++] = {in_pipe[1], POLLOUT, 0};
    int ready = poll(pfds, count, static_cast<int>(std::min<long long>(wait_ms, 200)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < count; ++i) {
      if (pfds[i].revents == 0) continue;
      if (pfds[i].fd == in_pipe[1]) {
        ssize_t w = write(in_pipe[1], o.stdin_data.data() + in_off, o.stdin_data.size() - in_off);
        if (w > 0) in_off += static_cast<size_t>(w);
        if (w < 0 || in_off >= o.stdin_data.size()) {
          close(in_pipe[1]);
          in_pipe[1] = -1;
        }
        continue;
      }
      int which = pfds[i].fd == fds[0] ? 0 : 1;
      ssize_t got = read(fds[which], chunk, sizeof chunk);
      if (got <= 0) {
        close(fds[which]);
        fds[which] = -1;
        --open_streams;
        continue;
      }
      std::string& buf = *bufs[which];
      size_t room = o.max_output > buf.size() ? o.max_output - buf.size() : 0;
      if (static_cast<size_t>(got) > room) r.truncated = true;
      buf.append(chunk, std::min(room, static_cast<size_t>(got)));
    }
  }
  if (r.timed_out || r.cancelled) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  for (int fd : fds)
    if (fd >= 0) close(fd);
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st) && !r.timed_out && !r.cancelled) r.signal = WTERMSIG(st);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_at);
  return r;
}

}  // namespace backup_doctor::support
