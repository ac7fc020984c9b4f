#include "selinux_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::selinux::SelinuxPlugin)
