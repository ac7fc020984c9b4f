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
  for (auto spec :
       {disk_check(), memory_check(), cpu_check(), io_check(), backup_process_check()}) {
    auto run = spec.run;
    add_check(
        spec.type, spec.summary, spec.doc, spec.schema,
        [this, run](const nlohmann::json& params, sdk::Context& ctx) { run(params, ctx, hooks_); });
  }
}

}  // namespace backup_doctor::resources
