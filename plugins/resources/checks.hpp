// The check types of the resources plugin: checks/<type>.cpp defines <type>_check() for check type
// "resources.<type>"; resources_plugin.cpp adds each one with one line.
#pragma once

#include "hooks.hpp"

#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>

namespace backup_doctor::resources {

sdk::CheckType disk_check(const Hooks& hooks);
sdk::CheckType memory_check(const Hooks& hooks);
sdk::CheckType cpu_check(const Hooks& hooks);
sdk::CheckType io_check(const Hooks& hooks);
sdk::CheckType backup_process_check(const Hooks& hooks);

}  // namespace backup_doctor::resources
