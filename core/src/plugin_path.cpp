#include "plugin_path.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>

namespace backup_doctor {

std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& plugin_dirs,
                                                      const char* env_value,
                                                      const std::filesystem::path& executable) {
  std::vector<std::filesystem::path> path;
  auto add = [&](const std::filesystem::path& p) {
    if (p.empty()) return;
    // A relative entry means "wherever the run happens to start": never a place to load from.
    if (p.is_relative()) {
      spdlog::warn(
          "plugin search path entry '{}' is relative and was ignored; give an absolute "
          "directory",
          p.string());
      return;
    }
    std::error_code ec;
    auto normal = std::filesystem::weakly_canonical(p, ec);
    if (ec) normal = p.lexically_normal();
    if (std::find(path.begin(), path.end(), normal) == path.end()) path.push_back(normal);
  };
  for (const auto& d : plugin_dirs) add(d);
  if (env_value != nullptr) {
    std::string env = env_value;
    size_t start = 0;
    while (start <= env.size()) {
      size_t end = env.find(':', start);
      if (end == std::string::npos) end = env.size();
      add(env.substr(start, end - start));
      start = end + 1;
    }
  }
  if (!executable.empty()) add(executable.parent_path().parent_path() / BD_PLUGIN_REL_DIR);
  add(BD_INSTALL_PLUGIN_DIR);
  return path;
}

std::filesystem::path current_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : p;
}

}  // namespace backup_doctor
