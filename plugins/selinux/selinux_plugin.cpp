#include "selinux_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::selinux {

SelinuxPlugin::SelinuxPlugin()
    : Plugin("selinux", "1.0.0",
             "SELinux as a cause of failed backups: mode, file labels, AVC denials") {
  for (const auto& spec : {status_check(), contexts_check(), denials_check()})
    add_check(spec.type, spec.summary, spec.doc, spec.schema, spec.run);
}

}  // namespace backup_doctor::selinux
