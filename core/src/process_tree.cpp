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

std::vector<pid_t> child_processes() {
  std::vector<pid_t> out;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return children_by_scan();
  bool have_file = false;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::string file = std::string("/proc/self/task/") + e->d_name + "/children";
    if (access(file.c_str(), R_OK) != 0) continue;
    have_file = true;
    for (pid_t p : numbers_in(file)) out.push_back(p);
  }
  closedir(tasks);
  return have_file ? out : children_by_scan();
}

size_t kill_children_except(const std::set<pid_t>& keep, std::chrono::milliseconds patience) {
  // No child at all, alive or not (the usual case when a check ran no program): one call.
  siginfo_t info{};
  if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) return 0;
  size_t killed = 0;
  const auto give_up = std::chrono::steady_clock::now() + patience;
  for (;;) {
    std::vector<pid_t> strays;
    for (pid_t p : child_processes())
      if (!keep.count(p)) strays.push_back(p);
    if (strays.empty()) return killed;
    for (pid_t p : strays) kill(p, SIGKILL);
    killed += strays.size();
    // Reap them; their own children are re-parented to us and found in the next round.
    for (pid_t p : strays) {
      while (waitpid(p, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= give_up) return killed;
        usleep(1'000);
      }
    }
    if (std::chrono::steady_clock::now() >= give_up) return killed;
  }
}

}  // namespace backup_doctor
