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

// Kills (SIGKILL) and reaps every child not in `keep`, then the children that were re-parented
// to us as a result, until none is left or `patience` is spent. Returns how many were killed.
size_t kill_children_except(const std::set<pid_t>& keep,
                            std::chrono::milliseconds patience = std::chrono::seconds(2));

}  // namespace backup_doctor
