#include "plugin_registry.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>

namespace backup_doctor {

PluginRegistry::~PluginRegistry() {
  // Instances go before their libraries; the libraries stay mapped until the registry dies.
  for (auto& p : plugins_)
    if (p.instance) p.api->destroy(p.instance), p.instance = nullptr;
}

PluginRegistry PluginRegistry::load(const std::vector<std::filesystem::path>& search_path) {
  PluginRegistry reg;
  reg.search_path_ = search_path;
  reg.load_matching([](const std::filesystem::path&) { return true; });
  return reg;
}

PluginRegistry PluginRegistry::load_for(const std::vector<std::filesystem::path>& search_path,
                                        const std::set<std::string>& types) {
  PluginRegistry reg;
  reg.search_path_ = search_path;
  std::set<std::string> files;
  for (const auto& type : types)
    files.insert("backup-doctor-" + type.substr(0, type.find('.')) + ".so");
  reg.load_matching(
      [&](const std::filesystem::path& file) { return files.count(file.filename().string()) > 0; });
  bool all_found = std::all_of(types.begin(), types.end(),
                               [&](const std::string& type) { return reg.plugin_for(type); });
  if (!all_found) reg.load_matching([](const std::filesystem::path&) { return true; });
  return reg;
}

void PluginRegistry::load_matching(
    const std::function<bool(const std::filesystem::path&)>& wanted) {
  for (const auto& dir : search_path_) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (!wanted(file) || std::find(tried_.begin(), tried_.end(), file) != tried_.end()) continue;
      tried_.push_back(file);
      auto outcome = load_plugin(file);
      if (!outcome.plugin) {
        spdlog::debug("plugin {} {}", file.string(), outcome.refusal);
        refused_.push_back({file, outcome.refusal});
        continue;
      }
      auto same_name = std::find_if(plugins_.begin(), plugins_.end(),
                                    [&](const auto& p) { return p.name == outcome.plugin->name; });
      if (same_name != plugins_.end()) {
        outcome.plugin->api->destroy(outcome.plugin->instance);
        refused_.push_back({file, "plugin '" + outcome.plugin->name + "' is already loaded from " +
                                      same_name->file.string() + " (the first one found wins)"});
        continue;
      }
      plugins_.push_back(std::move(*outcome.plugin));
    }
  }
}

const LoadedPlugin* PluginRegistry::plugin_for(const std::string& type) const {
  for (const auto& p : plugins_)
    if (p.find(type)) return &p;
  return nullptr;
}

const CheckTypeInfo* PluginRegistry::check_type(const std::string& type) const {
  const LoadedPlugin* p = plugin_for(type);
  return p ? p->find(type) : nullptr;
}

std::vector<std::string> PluginRegistry::check_types() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    for (const auto& c : p.checks) out.push_back(c.type);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace backup_doctor
