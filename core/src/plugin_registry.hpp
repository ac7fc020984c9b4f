// Every plugin found on the search path, by name and by check type; and those refused.
#pragma once

#include "plugin_loader.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <set>
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

  // Loads what a run of these check types needs: for each type "PREFIX.NAME" the file
  // backup-doctor-PREFIX.so (the name backup_doctor_add_plugin() gives every plugin). Only when
  // a type is still unknown after that does it load every other plugin too, so a plugin with
  // another file name is still found and "did you mean" sees every type. Loading fewer plugins
  // makes a run start faster and keeps the libraries of unused plugins out of every check's
  // memory.
  static PluginRegistry load_for(const std::vector<std::filesystem::path>& search_path,
                                 const std::set<std::string>& types);

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<RefusedPlugin>& refused() const { return refused_; }
  const std::vector<std::filesystem::path>& search_path() const { return search_path_; }

  // The plugin providing `type`, and the type's description; nullptr when none.
  const LoadedPlugin* plugin_for(const std::string& type) const;
  const CheckTypeInfo* check_type(const std::string& type) const;
  std::vector<std::string> check_types() const;

 private:
  // Loads the .so files of the search path that `wanted` accepts and were not tried yet.
  void load_matching(const std::function<bool(const std::filesystem::path&)>& wanted);

  std::vector<std::filesystem::path> tried_;
  std::vector<LoadedPlugin> plugins_;
  std::vector<RefusedPlugin> refused_;
  std::vector<std::filesystem::path> search_path_;
};

}  // namespace backup_doctor
