#include "resources_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::resources::ResourcesPlugin)
