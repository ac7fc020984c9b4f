// Loads one plugin library through the C ABI: refuses files that are unsafe to load, that are
// not plugins, or whose ABI this core cannot speak, each with a message naming file and reason.
#pragma once

#include <backup_doctor/plugin_abi.h>

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor {

struct CheckTypeInfo {
  std::string type;  // "files.exists"
  std::string summary;
  std::string doc;
  nlohmann::json params_schema;
};

struct LoadedPlugin {
  std::filesystem::path file;
  std::string name;
  std::string version;
  std::string summary;
  uint16_t abi_major = 0;
  uint16_t abi_minor = 0;
  std::vector<CheckTypeInfo> checks;
  const bd_plugin_api* api = nullptr;
  void* instance = nullptr;
  std::shared_ptr<boost::dll::shared_library> library;  // kept loaded until exit

  const CheckTypeInfo* find(const std::string& type) const;
};

struct LoadOutcome {
  std::optional<LoadedPlugin> plugin;
  std::string refusal;  // why it was refused, when `plugin` is empty
};

// Opens a plugin file only if nobody but root or the current user could have written it or
// swapped it (loading it would run their code with our privileges): not a symbolic link, a
// regular file owned by root or us and not group/world-writable, in directories that are
// root's or ours and not group/world-writable. The checks are made on the open descriptor,
// which is what gets loaded (through /proc/self/fd), so the file cannot change in between.
// Returns the descriptor, or -1 with the reason in `reason`.
int open_plugin_file(const std::filesystem::path& file, std::string& reason);

// The reason open_plugin_file() would give, or empty when the file is safe to load.
std::string unsafe_plugin_file_reason(const std::filesystem::path& file);

// Loads, checks and create()s the plugin in `file`.
LoadOutcome load_plugin(const std::filesystem::path& file);

// The host callbacks used for calls made in this process (create): log lines go to the log,
// the error message is kept for the refusal text.
const bd_host_api* in_process_host_api();

}  // namespace backup_doctor
