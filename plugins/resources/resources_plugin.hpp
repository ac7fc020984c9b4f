// The resources plugin: disk space, memory, CPU and I/O pressure, and running backup
// processes, read from /proc, /sys and statvfs(3).
#pragma once

#include "hooks.hpp"

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::resources {

class ResourcesPlugin : public sdk::Plugin {
 public:
  ResourcesPlugin() : ResourcesPlugin(default_hooks()) {}
  // Tests pass their own hooks (see hooks.hpp) to control sampling.
  explicit ResourcesPlugin(Hooks hooks);

 private:
  Hooks hooks_;
};

}  // namespace backup_doctor::resources
