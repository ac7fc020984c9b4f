// Where the credentials and the region come from, in the order the AWS CLI and SDKs use:
// explicit parameters, then the environment (unless a profile was named explicitly, which
// makes the AWS tools skip the environment too), then the shared credentials file, then the
// config file, each read for the selected profile.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // Human readable: "check parameters", "environment (AWS_ACCESS_KEY_ID)",
  // "/root/.aws/credentials [backup]".
  std::string source;
};

struct CredentialQuery {
  // Explicit values from the check's parameters (already resolved from secrets by the core).
  std::optional<std::string> access_key_id, secret_access_key, session_token;
  std::optional<std::string> profile;           // explicit profile parameter
  std::optional<std::string> credentials_file;  // overrides AWS_SHARED_CREDENTIALS_FILE
  std::optional<std::string> config_file;       // overrides AWS_CONFIG_FILE
};

struct CredentialResolution {
  std::optional<Credentials> credentials;
  std::string profile;                // the profile that was used for the files
  std::string profile_region;         // "region" of that profile in the config file
  std::vector<std::string> searched;  // every place looked at, for the remediation text
  // Set when a profile exists but relies on something backup-doctor does not do itself
  // (role_arn, sso_session, credential_process, ...).
  std::string unsupported;
};

// Throws CheckError for contradictory input (a key id without its secret, ...).
CredentialResolution resolve_credentials(const CredentialQuery& query);

// The region: explicit parameter, AWS_REGION, AWS_DEFAULT_REGION, the profile's region in the
// config file, else us-east-1.
std::string resolve_region(const std::optional<std::string>& param,
                           const CredentialResolution& resolution);

// Sections of an AWS-style INI file ("[profile x]" is reported as "profile x"); keys are
// lower-cased, nested blocks ("s3 =" followed by indented lines) are skipped.
std::map<std::string, std::map<std::string, std::string>> read_aws_ini(const std::string& path);

}  // namespace backup_doctor::s3
