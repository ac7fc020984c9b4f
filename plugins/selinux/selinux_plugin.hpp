// The selinux plugin: SELinux mode and policy, file labels of backup paths, and AVC denials
// that hit backup programs (the guide's "SELinux/AppArmor restrictions").
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::selinux {

class SelinuxPlugin : public sdk::Plugin {
 public:
  SelinuxPlugin();
};

}  // namespace backup_doctor::selinux
