#include "pg_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::pg::PgPlugin)
