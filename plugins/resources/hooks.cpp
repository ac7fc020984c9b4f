#include "hooks.hpp"

#include <sys/syscall.h>
#include <unistd.h>
#include <thread>

namespace backup_doctor::resources {

Hooks default_hooks() {
  return Hooks{&sleep_cancellable, &kernel_io_priority};
}

std::chrono::milliseconds sleep_cancellable(std::chrono::milliseconds interval, sdk::Context& ctx) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto end = start + interval;
  while (clock::now() < end && !ctx.cancelled()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now());
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(100)));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

std::optional<int> kernel_io_priority(const std::string& proc_root, int pid) {
  if (proc_root != "/proc") return std::nullopt;
  constexpr int kWhoProcess = 1;  // IOPRIO_WHO_PROCESS; glibc has no wrapper nor header
  long v = ::syscall(SYS_ioprio_get, kWhoProcess, pid);
  if (v < 0) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace backup_doctor::resources
