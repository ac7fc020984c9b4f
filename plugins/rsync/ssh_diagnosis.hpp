// Why an ssh connection failed, read from ssh's stderr (ssh exits 255 for its own failures).
#pragma once

#include <string>
#include <string_view>

namespace backup_doctor::rsync {

enum class SshFailure {
  none,
  connection_refused,
  timeout,
  unknown_host,      // the name does not resolve
  unreachable,       // no route / network unreachable
  unknown_host_key,  // no known_hosts entry and strict checking
  host_key_changed,  // known_hosts entry does not match
  key_permissions,   // private key readable by others: ssh ignores it
  key_unreadable,    // identity file missing or unreadable
  auth_failed,
  connection_closed,  // server dropped the connection before login
  other,
};

const char* ssh_failure_name(SshFailure f);

// Classifies ssh's stderr. The most specific match wins (a key-permission warning precedes
// the resulting "Permission denied").
SshFailure classify_ssh_error(std::string_view stderr_text);

// The stderr lines worth showing (drops the "Warning: Permanently added" noise and banners).
std::string ssh_error_excerpt(std::string_view stderr_text, size_t max_lines = 6);

}  // namespace backup_doctor::rsync
