// Keeping track of every process a check starts, however it tries to get away.
//
// The runner and every check child are "child subreapers" (PR_SET_CHILD_SUBREAPER): a process
// whose parent dies is re-parented to the nearest of them instead of to init, even after
// setsid() or a double fork. So everything a check left behind is a child of its check process
// while that runs, and a child of the runner once the check process is gone; killing the
// children that are not expected kills all of it.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <set>
#include <vector>

namespace backup_doctor {

// Makes this process the subreaper of its descendants. False when the kernel refuses.
bool become_subreaper();

// The direct children of this process (every thread's), zombies included.
std::vector<pid_t> child_processes();

// Whether this process has any child at all, alive or a zombie (one system call).
bool has_children();

struct Sweep {
  size_t killed = 0;     // processes sent SIGKILL
  bool complete = true;  // false when some were still there when `patience` ran out
  size_t rounds = 0;     // how many times the children were looked up and killed
};

// Kills (SIGKILL) every child not in `keep` and everything below it, reaps them, and repeats
// for what was re-parented to us meanwhile, until none is left or `patience` is spent.
Sweep kill_children_except(const std::set<pid_t>& keep,
                           std::chrono::milliseconds patience = std::chrono::seconds(2));

}  // namespace backup_doctor
