#include "process_tree.hpp"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace backup_doctor {
namespace {

// At most this many processes are collected per round (a fork bomb is cut down over rounds).
constexpr size_t kMaxTree = 100000;

std::vector<pid_t> numbers_in(const std::string& path) {
  std::vector<pid_t> out;
  std::ifstream in(path);
  long v = 0;
  while (in >> v) out.push_back(static_cast<pid_t>(v));
  return out;
}

// Fallback when the kernel has no /proc/<pid>/task/<tid>/children: every process's parent.
std::vector<pid_t> children_by_scan() {
  std::vector<pid_t> out;
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    std::string state;
    long ppid = 0;
    if (fields >> state >> ppid && ppid == self) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

}  // namespace

bool become_subreaper() {
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

// The children of `pid` (every thread's), from /proc/<pid>/task/<tid>/children; empty when the
// kernel does not have those files or the process is gone.
static std::vector<pid_t> children_of(const std::string& pid) {
  std::vector<pid_t> out;
  const std::string dir = "/proc/" + pid + "/task";
  DIR* tasks = opendir(dir.c_str());
  if (tasks == nullptr) return out;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    for (pid_t p : numbers_in(dir + "/" + e->d_name + "/children")) out.push_back(p);
  }
  closedir(tasks);
  return out;
}

std::vector<pid_t> child_processes() {
  if (access(("/proc/self/task/" + std::to_string(gettid()) + "/children").c_str(), R_OK) != 0)
    return children_by_scan();
  return children_of("self");
}

bool has_children() {
  siginfo_t info{};
  // __WALL: children with any exit signal, not only SIGCHLD.
  return !(waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 && errno == ECHILD);
}

Sweep kill_children_except(const std::set<pid_t>& keep, std::chrono::milliseconds patience) {
  Sweep sweep;
  if (!has_children()) return sweep;  // the usual case when a check ran no program
  std::set<pid_t> seen;
  const auto give_up = std::chrono::steady_clock::now() + patience;
  for (;;) {
    std::vector<pid_t> strays;
    for (pid_t p : child_processes())
      if (!keep.count(p)) strays.push_back(p);
    if (strays.empty()) return sweep;
    if (std::chrono::steady_clock::now() >= give_up) {
      sweep.complete = false;
      return sweep;
    }
    // The whole tree below them at once: one generation per round would let a long chain of
    // processes (each its own session) outlast any patience. Killed top-down, each process is
    // re-parented to us as it dies and reaped in a later round.
    ++sweep.rounds;
    std::vector<pid_t> tree = strays;
    for (size_t i = 0; i < tree.size() && tree.size() < kMaxTree; ++i)
      for (pid_t c : children_of(std::to_string(tree[i]))) tree.push_back(c);
    for (pid_t p : tree) {
      kill(p, SIGKILL);
      seen.insert(p);
    }
    sweep.killed = seen.size();
    // Reap the direct ones (without waiting on any one of them in turn).
    std::vector<pid_t> pending = strays;
    while (!pending.empty() && std::chrono::steady_clock::now() < give_up) {
      size_t before = pending.size();
      std::erase_if(pending, [](pid_t p) {
        pid_t r = waitpid(p, nullptr, WNOHANG | __WALL);
        return r == p || (r < 0 && errno == ECHILD);
      });
      if (pending.size() == before) usleep(1'000);
    }
  }
}

}  // namespace backup_doctor
