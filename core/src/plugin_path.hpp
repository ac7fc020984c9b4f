// Where plugins are looked for, in order: --plugin-dir (repeatable), BACKUP_DOCTOR_PLUGIN_PATH
// (colon-separated), then the plugin directory next to the running binary
// (<bin>/../lib/backup-doctor/plugins: the install tree, and the build tree which mirrors it),
// then the configured install prefix.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace backup_doctor {

std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& plugin_dirs,
                                                      const char* env_value,
                                                      const std::filesystem::path& executable);

// The running binary (/proc/self/exe).
std::filesystem::path current_executable();

}  // namespace backup_doctor
