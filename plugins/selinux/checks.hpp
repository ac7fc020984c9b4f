// The check types of the selinux plugin: checks/<type>.cpp defines <type>_check() for check type
// "selinux.<type>"; selinux_plugin.cpp adds each one with one line.
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::selinux {

sdk::CheckType status_check();
sdk::CheckType contexts_check();
sdk::CheckType denials_check();

}  // namespace backup_doctor::selinux
