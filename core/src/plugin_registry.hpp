// Every plugin found on the search path, by name and by check type; and those refused.
#pragma once

#include "plugin_loader.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace backup_doctor {

struct RefusedPlugin {
  std::filesystem::path file;
  std::string reason;
};

class PluginRegistry {
 public:
  PluginRegistry() = default;
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;
  PluginRegistry(PluginRegistry&&) = default;
  ~PluginRegistry();

  // Loads every *.so in each directory of `search_path`, in order. A plugin name already
  // loaded from an earlier directory wins; the later file is listed as refused (shadowed).
  static PluginRegistry load(const std::vector<std::filesystem::path>& search_path);

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<RefusedPlugin>& refused() const { return refused_; }
  const std::vector<std::filesystem::path>& search_path() const { return search_path_; }

  // The plugin providing `type`, and the type's description; nullptr when none.
  const LoadedPlugin* plugin_for(const std::string& type) const;
  const CheckTypeInfo* check_type(const std::string& type) const;
  std::vector<std::string> check_types() const;

 private:
  std::vector<LoadedPlugin> plugins_;
  std::vector<RefusedPlugin> refused_;
  std::vector<std::filesystem::path> search_path_;
};

}  // namespace backup_doctor
