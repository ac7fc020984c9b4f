// Where the credentials and the region come from, in the order the AWS CLI and SDKs use:
// explicit parameters, then the environment (unless a profile was named explicitly, which
// makes the AWS tools skip the environment too), then the shared credentials file, then the
// profile's credential_process, then the config file, each read for the selected profile.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // Human readable: "check parameters", "environment", "/root/.aws/credentials [backup]",
  // "credential_process of /root/.aws/config [profile vault]".
  std::string source;
  // Where each value was read, named as the operator edits it, for findings about one of them:
  // "AWS_SECRET_ACCESS_KEY in the environment", "aws_secret_access_key in
  // /root/.aws/credentials [backup]", "`secret_access_key` of the check". Empty: `source`.
  std::string key_id_from{}, secret_from{}, token_from{};
};

struct CredentialQuery {
  // Explicit values from the check's parameters (already resolved from secrets by the core).
  std::optional<std::string> access_key_id, secret_access_key, session_token;
  std::optional<std::string> profile;           // explicit profile parameter
  std::optional<std::string> credentials_file;  // overrides AWS_SHARED_CREDENTIALS_FILE
  std::optional<std::string> config_file;       // overrides AWS_CONFIG_FILE
  // How long a profile's credential_process may take.
  std::chrono::milliseconds process_timeout{30'000};
};

struct CredentialResolution {
  std::optional<Credentials> credentials;
  std::string profile;                // the profile that was used for the files
  std::string profile_region;         // "region" of that profile in the config file
  std::vector<std::string> searched;  // every place looked at, for the remediation text
  // Set when a profile exists but relies on something backup-doctor does not do itself
  // (role_arn, sso_session, web_identity_token_file, ...).
  std::string unsupported;
};

// Throws CheckError for contradictory input (a key id without its secret, ...) and for a
// credential_process that fails, prints something unusable or hands out expired credentials.
CredentialResolution resolve_credentials(const CredentialQuery& query);

// Runs a profile's credential_process (`where` names the profile for messages) and reads the
// JSON it prints (Version 1, AccessKeyId, SecretAccessKey, optional SessionToken and
// Expiration). The command line is split into words like a shell would, without running one.
Credentials run_credential_process(const std::string& command, const std::string& where,
                                   std::chrono::milliseconds timeout);

// The region: explicit parameter, AWS_REGION, AWS_DEFAULT_REGION, the profile's region in the
// config file, else us-east-1.
std::string resolve_region(const std::optional<std::string>& param,
                           const CredentialResolution& resolution);

// Sections of an AWS-style INI file ("[profile x]" is reported as "profile x"); keys are
// lower-cased, nested blocks ("s3 =" followed by indented lines) are skipped.
std::map<std::string, std::map<std::string, std::string>> read_aws_ini(const std::string& path);

}  // namespace backup_doctor::s3
