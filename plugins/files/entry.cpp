#include "files_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::files::FilesPlugin)
