#include "resources_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::resources {

ResourcesPlugin::ResourcesPlugin(Hooks hooks)
    : Plugin("resources", "1.0.0",
             "Host resources behind failed or slow backups: disk space, memory, CPU and I/O "
             "pressure, and stuck backup processes"),
      hooks_(std::move(hooks)) {
  if (!hooks_.wait) hooks_.wait = &sleep_cancellable;
  if (!hooks_.io_priority) hooks_.io_priority = &kernel_io_priority;
  add(disk_check(hooks_));
  add(memory_check(hooks_));
  add(cpu_check(hooks_));
  add(io_check(hooks_));
  add(backup_process_check(hooks_));
}

}  // namespace backup_doctor::resources
