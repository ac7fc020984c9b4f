// The SELinux state of a host: selinuxfs (read through libselinux with the mount point set
// explicitly, so tests can hand in a fake tree), /etc/selinux/config, and security contexts.
#pragma once

#include <string>

namespace backup_doctor::selinux {

inline constexpr const char* kDefaultSelinuxfs = "/sys/fs/selinux";
inline constexpr const char* kDefaultConfig = "/etc/selinux/config";

struct SelinuxState {
  bool enabled = false;
  std::string selinuxfs;
  std::string reason;  // why it counts as not enabled
  int enforce = -1;    // 1 enforcing, 0 permissive, -1 unknown
  int policy_version = -1;
  int deny_unknown = -1;  // 1 deny, 0 allow, -1 unknown
  int mls = -1;
};
// SELinux counts as enabled when <selinuxfs>/enforce exists: the kernel mounts selinuxfs only
// when an SELinux policy is active.
SelinuxState read_selinux_state(const std::string& selinuxfs_root);

struct SelinuxConfig {
  bool found = false;
  std::string path;
  std::string mode;  // SELINUX=: enforcing, permissive, disabled
  std::string type;  // SELINUXTYPE=: targeted, mls, minimum
};
SelinuxConfig read_selinux_config(const std::string& path);

// /etc/selinux/<SELINUXTYPE>/contexts/files/file_contexts for the config at `config_path`
// (the policy root is the directory holding the config). Empty when the config names none.
std::string default_file_contexts(const SelinuxConfig& config);

// user:role:type[:level]; the level may itself contain colons (s0-s0:c0.c1023).
struct SecurityContext {
  bool valid = false;
  std::string user, role, type, level;
};
SecurityContext parse_context(const std::string& text);

}  // namespace backup_doctor::selinux
