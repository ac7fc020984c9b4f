// The two things the resources checks take from the live system that tests must be able to
// replace: the pause between two samples, and a process's I/O priority.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace backup_doctor::resources {

struct Hooks {
  // Waits `interval` between the two samples of a check and returns the time that really
  // passed. The default sleeps in short slices and returns early when the check is cancelled;
  // tests replace it to swap fixture files between the two reads.
  std::function<std::chrono::milliseconds(std::chrono::milliseconds interval, sdk::Context& ctx)>
      wait;
  // The ioprio_get(2) value of a process, nothing when unknown. The default asks the kernel,
  // but only when `proc_root` is the live /proc (a fixture pid means nothing to the kernel).
  std::function<std::optional<int>(const std::string& proc_root, int pid)> io_priority;
};

Hooks default_hooks();

std::chrono::milliseconds sleep_cancellable(std::chrono::milliseconds interval, sdk::Context& ctx);
std::optional<int> kernel_io_priority(const std::string& proc_root, int pid);

}  // namespace backup_doctor::resources
