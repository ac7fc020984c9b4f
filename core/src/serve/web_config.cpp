#include "serve/web_config.hpp"

#include "json_text.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include <backup_doctor/support/safe_open.hpp>

#include <cstring>
#include <memory>

namespace backup_doctor::serve {
namespace {

bool is_bcrypt(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

bool read_tls(const YAML::Node& tls, const std::string& path, WebConfig& out, std::string& error) {
  for (const auto& kv : tls) {
    const std::string key = kv.first.as<std::string>();
    if (key == "cert_file")
      out.cert_file = kv.second.as<std::string>();
    else if (key == "key_file")
      out.key_file = kv.second.as<std::string>();
    else {
      error = path + ": tls_server_config." + key +
              " is not supported by backup-doctor serve; remove it (cert_file and key_file are)";
      return false;
    }
  }
  if (out.cert_file.empty() != out.key_file.empty()) {
    error = path + ": tls_server_config needs both cert_file and key_file";
    return false;
  }
  for (const std::string* file : {&out.cert_file, &out.key_file}) {
    if (file->empty() || geteuid() != 0) continue;
    if (std::string why = support::untrusted_path_reason(*file); !why.empty()) {
      error = path + ": tls_server_config: " + *file + ": refused: " + why +
              "; running as root, serve uses a certificate and key only when nobody but root can "
              "change them (chown root, chmod go-w)";
      return false;
    }
  }
  return true;
}

bool read_users(const YAML::Node& users, const std::string& path, WebConfig& out,
                std::string& error) {
  for (const auto& kv : users) {
    const std::string user = kv.first.as<std::string>();
    const std::string hash = kv.second.as<std::string>();
    if (!is_bcrypt(hash)) {
      // Never quote the value: it may be a password written in by mistake.
      error = path + ": basic_auth_users." + user +
              " is not a bcrypt hash; make one with `htpasswd -nBC 10 " + user + "`";
      return false;
    }
    out.users[user] = hash;
  }
  return true;
}

}  // namespace

std::optional<WebConfig> load_web_config(const std::string& path, std::string& error) {
  WebConfig out;
  // As a checklist: as root, only a regular file that nobody but root can change (whoever can
  // would add a user of their own or serve another key).
  auto text = read_text_file(path, error);
  if (!text) return std::nullopt;
  try {
    YAML::Node root = YAML::Load(*text);
    if (root.IsNull()) return out;
    if (!root.IsMap()) {
      error = path + ": expected a mapping with tls_server_config and/or basic_auth_users";
      return std::nullopt;
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key == "tls_server_config") {
        if (!read_tls(kv.second, path, out, error)) return std::nullopt;
      } else if (key == "basic_auth_users") {
        if (!read_users(kv.second, path, out, error)) return std::nullopt;
      } else {
        error = path + ": " + key +
                " is not supported by backup-doctor serve; remove it (tls_server_config and "
                "basic_auth_users are)";
        return std::nullopt;
      }
    }
  } catch (const YAML::Exception& e) {
    error = path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
            ": not valid YAML for a web config (" + e.msg + ")";
    return std::nullopt;
  }
  return out;
}

bool authorized(const WebConfig& config, const std::string& authorization) {
  if (config.users.empty()) return true;
  if (!authorization.starts_with("Basic ") || authorization.size() > 1024) return false;
  const std::string encoded = authorization.substr(6);
  std::string decoded(encoded.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(encoded.data()),
                                static_cast<int>(encoded.size()));
  if (n < 0) return false;
  decoded.resize(static_cast<size_t>(n));
  while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();  // base64 padding
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  auto user = config.users.find(decoded.substr(0, colon));
  // An unknown user costs a bcrypt too (against one of the configured hashes, so at that cost):
  // a quick 401 would tell a client which user names exist.
  const bool known = user != config.users.end();
  const std::string& expected = known ? user->second : config.users.begin()->second;
  const std::string password = decoded.substr(colon + 1);
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* hashed = crypt_r(password.c_str(), expected.c_str(), data.get());
  // Compared in constant time: how much of a guess matched must not show in the answer's timing.
  const bool match = hashed != nullptr && std::strlen(hashed) == expected.size() &&
                     CRYPTO_memcmp(hashed, expected.data(), expected.size()) == 0;
  return known && match;
}

}  // namespace backup_doctor::serve
