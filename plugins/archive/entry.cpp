#include "archive_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::archive::ArchivePlugin)
