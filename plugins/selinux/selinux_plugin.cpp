#include "selinux_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::selinux {

SelinuxPlugin::SelinuxPlugin()
    : Plugin("selinux", "1.0.0",
             "SELinux as a cause of failed backups: mode, file labels, AVC denials") {
  add(status_check());
  add(contexts_check());
  add(denials_check());
}

}  // namespace backup_doctor::selinux
