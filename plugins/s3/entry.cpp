#include "s3_plugin.hpp"

BACKUP_DOCTOR_PLUGIN(backup_doctor::s3::S3Plugin)
