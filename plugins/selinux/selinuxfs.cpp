#include "selinuxfs.hpp"

#include <selinux/selinux.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace backup_doctor::selinux {

namespace {

// libselinux keeps the selinuxfs mount point in a process-wide variable; set it explicitly
// for one read (never relying on its own detection) and clear it again.
std::mutex selinuxmnt_mutex;

int read_int_file(const std::string& path) {
  std::ifstream in(path);
  int v = -1;
  if (in >> v) return v;
  return -1;
}

std::string unquote(std::string v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.pop_back();
  size_t start = v.find_first_not_of(" \t");
  v = start == std::string::npos ? "" : v.substr(start);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

SelinuxState read_selinux_state(const std::string& root) {
  SelinuxState s;
  s.selinuxfs = root;
  std::string enforce_path = root + "/enforce";
  if (::access(enforce_path.c_str(), F_OK) != 0) {
    s.reason = enforce_path +
               " does not exist (selinuxfs is not mounted: SELinux is disabled "
               "or not built into this kernel)";
    return s;
  }
  s.enabled = true;
  std::lock_guard<std::mutex> lock(selinuxmnt_mutex);
  set_selinuxmnt(root.c_str());
  s.enforce = security_getenforce();
  s.policy_version = security_policyvers();
  s.deny_unknown = security_deny_unknown();
  fini_selinuxmnt();
  // libselinux answers "is MLS enabled" only for the real mount; the file is simple enough.
  s.mls = read_int_file(root + "/mls");
  return s;
}

SelinuxConfig read_selinux_config(const std::string& path) {
  SelinuxConfig c;
  c.path = path;
  std::ifstream in(path);
  if (!in) return c;
  c.found = true;
  for (std::string line; std::getline(in, line);) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    auto eq = line.find('=', start);
    if (eq == std::string::npos) continue;
    std::string key = unquote(line.substr(start, eq - start));
    std::string value = unquote(line.substr(eq + 1));
    if (key == "SELINUX")
      c.mode = value;
    else if (key == "SELINUXTYPE")
      c.type = value;
  }
  return c;
}

std::string default_file_contexts(const SelinuxConfig& config) {
  if (config.type.empty()) return {};
  auto root = std::filesystem::path(config.path).parent_path();
  return (root / config.type / "contexts" / "files" / "file_contexts").string();
}

SecurityContext parse_context(const std::string& text) {
  SecurityContext c;
  std::string t = text;
  while (!t.empty() && (t.back() == '\0' || t.back() == '\n')) t.pop_back();
  auto a = t.find(':');
  if (a == std::string::npos) return c;
  auto b = t.find(':', a + 1);
  if (b == std::string::npos) return c;
  auto d = t.find(':', b + 1);
  c.user = t.substr(0, a);
  c.role = t.substr(a + 1, b - a - 1);
  c.type = d == std::string::npos ? t.substr(b + 1) : t.substr(b + 1, d - b - 1);
  c.level = d == std::string::npos ? "" : t.substr(d + 1);
  c.valid = !c.user.empty() && !c.role.empty() && !c.type.empty();
  return c;
}

}  // namespace backup_doctor::selinux
