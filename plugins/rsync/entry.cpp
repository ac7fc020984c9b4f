#include "rsync_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::rsync::RsyncPlugin)
