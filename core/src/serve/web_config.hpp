// The web configuration file of Prometheus' exporter-toolkit (the format node_exporter and every
// official exporter take with --web.config.file), so a Prometheus shop configures TLS and basic
// auth for serve the way it already does for its exporters:
//   tls_server_config: {cert_file: ..., key_file: ...}
//   basic_auth_users: {user: <bcrypt hash>}
// Parsed with yaml-cpp; a key we do not implement is refused rather than ignored (a
// client_ca_file silently ignored would be a false sense of security).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace backup_doctor::serve {

struct WebConfig {
  std::string cert_file;  // both set: serve over TLS
  std::string key_file;
  std::map<std::string, std::string> users;  // user -> bcrypt hash; empty: no authentication
};

// The file's settings, or nothing with one message for people in `error` (file, key, what to do).
std::optional<WebConfig> load_web_config(const std::string& path, std::string& error);

// Whether an Authorization header value ("Basic dXNlcjpwYXNz") names a user of `config` with
// the right password (bcrypt, checked with crypt_r).
bool authorized(const WebConfig& config, const std::string& authorization);

}  // namespace backup_doctor::serve
