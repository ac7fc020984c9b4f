#include "ssh_diagnosis.hpp"

#include <vector>

namespace backup_doctor::rsync {
namespace {

bool has(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

}  // namespace

const char* ssh_failure_name(SshFailure f) {
  switch (f) {
    case SshFailure::none:
      return "none";
    case SshFailure::connection_refused:
      return "connection_refused";
    case SshFailure::timeout:
      return "timeout";
    case SshFailure::unknown_host:
      return "unknown_host";
    case SshFailure::unreachable:
      return "unreachable";
    case SshFailure::unknown_host_key:
      return "unknown_host_key";
    case SshFailure::host_key_changed:
      return "host_key_changed";
    case SshFailure::key_permissions:
      return "key_permissions";
    case SshFailure::key_unreadable:
      return "key_unreadable";
    case SshFailure::auth_failed:
      return "auth_failed";
    case SshFailure::connection_closed:
      return "connection_closed";
    case SshFailure::other:
      return "other";
  }
  return "other";
}

SshFailure classify_ssh_error(std::string_view e) {
  if (has(e, "REMOTE HOST IDENTIFICATION HAS CHANGED") || has(e, "Host key for") ||
      has(e, "POSSIBLE DNS SPOOFING"))
    return SshFailure::host_key_changed;
  if (has(e, "Host key verification failed") || has(e, "host key is known for") ||
      has(e, "No matching host key"))
    return SshFailure::unknown_host_key;
  if (has(e, "UNPROTECTED PRIVATE KEY FILE") || has(e, "bad permissions"))
    return SshFailure::key_permissions;
  if (has(e, "Connection refused")) return SshFailure::connection_refused;
  if (has(e, "timed out") || has(e, "Connection timed out") || has(e, "Operation timed out"))
    return SshFailure::timeout;
  if (has(e, "Could not resolve hostname") || has(e, "Name or service not known") ||
      has(e, "Temporary failure in name resolution"))
    return SshFailure::unknown_host;
  if (has(e, "No route to host") || has(e, "Network is unreachable"))
    return SshFailure::unreachable;
  if (has(e, "Permission denied (") || has(e, "Too many authentication failures") ||
      has(e, "Authentication failed"))
    return has(e, "Identity file") && has(e, "not accessible") ? SshFailure::key_unreadable
                                                               : SshFailure::auth_failed;
  if (has(e, "Connection closed by") || has(e, "kex_exchange_identification") ||
      has(e, "Connection reset") || has(e, "closed by remote host"))
    return SshFailure::connection_closed;
  return SshFailure::other;
}

std::string ssh_error_excerpt(std::string_view e, size_t max_lines) {
  std::string out;
  size_t lines = 0, start = 0;
  while (start < e.size() && lines < max_lines) {
    size_t end = e.find('\n', start);
    if (end == std::string_view::npos) end = e.size();
    std::string_view line = e.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || has(line, "Permanently added") ||
        line.find_first_not_of("@") == std::string_view::npos || line.rfind("@@@", 0) == 0)
      continue;
    if (!out.empty()) out += "\n";
    out += line;
    ++lines;
  }
  return out;
}

}  // namespace backup_doctor::rsync
