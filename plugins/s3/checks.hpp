// The check types of the s3 plugin: checks/<type>.cpp defines <type>_check() for check type
// "s3.<type>"; s3_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::s3 {

sdk::CheckType reachable_check();
sdk::CheckType auth_check();
sdk::CheckType permissions_check();
sdk::CheckType multipart_leftovers_check();
sdk::CheckType object_matches_check();
sdk::CheckType usage_check();
sdk::CheckType redundancy_check();
sdk::CheckType freshness_check();

}  // namespace backup_doctor::s3
