#include "credentials.hpp"

#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/safe_open.hpp>
#include "masking.hpp"
#include "wire_format.hpp"

#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>

#include <unistd.h>
#include <wordexp.h>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

namespace backup_doctor::s3 {

using sdk::shell_quote;

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string home_file(const char* rel) {
  auto home = env("HOME");
  return (home ? *home : std::string("/root")) + rel;
}

// Keys that mean "this profile gets its credentials some other way".
const char* const kIndirectKeys[] = {"role_arn", "sso_session", "sso_start_url",
                                     "web_identity_token_file", "credential_source"};

// The first line of a program's error output, for a message.
std::string first_line(const std::string& text) {
  std::string line = trim(text.substr(0, text.find('\n')));
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

}  // namespace

namespace {

constexpr size_t kMaxIniBytes = 1 << 20;
constexpr int kMaxLinkHops = 8;

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Opens an AWS config or credentials file through the safe-open primitive. The file itself may
// be a link only when a trusted owner made it where nobody else can change it (root's own
// ~/.aws/credentials pointing into /etc); a link the backup account planted, a FIFO or a device
// is refused. Nothing (and no error) when there is no file.
std::optional<std::string> read_config_text(const std::string& path, int hops = 0) {
  auto f = support::open_untrusted(path, support::Expect::regular);
  if (f.refusal == support::Refusal::missing) return std::nullopt;
  if (f.refusal == support::Refusal::symlink && hops < kMaxLinkHops &&
      support::trusted_owner(f.st.st_uid)) {
    auto dir = support::open_untrusted(parent_of(path), support::Expect::directory);
    if (dir && support::untrusted_writer(dir.st).empty()) {
      std::string target = f.link_target;
      if (target.empty() || target[0] != '/') target = parent_of(path) + "/" + target;
      return read_config_text(target, hops + 1);
    }
  }
  if (!f)
    throw sdk::CheckError(f.message +
                          "; an AWS config or credentials file must be the file "
                          "itself: put it there, or name the real file");
  return support::read_up_to(f.fd.get(), kMaxIniBytes).data;
}

}  // namespace

std::map<std::string, std::map<std::string, std::string>> read_aws_ini(const std::string& path) {
  std::map<std::string, std::map<std::string, std::string>> out;
  auto text = read_config_text(path);
  if (!text) return out;
  std::istringstream in(*text);
  std::string line, section;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool indented = !line.empty() && std::isspace(static_cast<unsigned char>(line[0]));
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = trim(t.substr(1, t.size() - 2));
      out[section];
      in_section = true;
      continue;
    }
    if (!in_section || indented) continue;  // nested "s3 =" settings and the like
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(t.substr(0, eq));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[section][key] = trim(t.substr(eq + 1));
  }
  return out;
}

namespace {

// What the program printed is secret: every string in its JSON, and every longer line of it,
// is masked in what its error output may repeat.
std::string scrub_output_from(const std::string& text, const std::string& out) {
  std::vector<std::string> secrets;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_string()) secrets.push_back(v.get<std::string>());
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (trim(line).size() >= 8) secrets.push_back(trim(line));
  return scrub(text, secrets);
}

}  // namespace

Credentials run_credential_process(const std::string& command, const std::string& where,
                                   std::chrono::milliseconds timeout) {
  using sdk::CheckError;
  // Split into words the way a POSIX shell would, but with no command substitution and no
  // shell in between: the same program and arguments the AWS CLI would start.
  wordexp_t words{};
  int rc = ::wordexp(command.c_str(), &words, WRDE_NOCMD | WRDE_UNDEF);
  if (rc != 0) {
    if (rc != WRDE_NOSPACE) ::wordfree(&words);
    throw CheckError(where + ": credential_process '" + command +
                     "' is not a command line that can be run without a shell (unquoted |, ;, "
                     "&, <, >, $( ) or an unset variable); put it in a script and name that");
  }
  std::vector<std::string> argv(words.we_wordv, words.we_wordv + words.we_wordc);
  ::wordfree(&words);
  if (argv.empty()) throw CheckError(where + ": credential_process is empty");

  support::ProcessOptions options;
  options.timeout = timeout;
  options.max_output = 64 * 1024;
  auto result = support::run_process(argv, options);
  if (result.refused_untrusted)
    throw CheckError(where + ": credential_process " + result.program +
                     " was not run: " + result.start_error +
                     ". Name a program only root can change (owned by root, in directories only "
                     "root can write), or give the check its keys another way");
  std::string fix = "Run it by hand (`" + command +
                    "`) as the user backup-doctor runs as; it must print the AWS credential JSON "
                    "(Version 1) and exit 0.";
  if (!result.ok())
    throw CheckError(where + ": credential_process " + result.describe() +
                     (result.err.empty()
                          ? ""
                          : " (" + scrub_output_from(first_line(result.err), result.out) + ")") +
                     ". " + fix);
  // The output holds the secret key: only its shape may appear in a message, never its text.
  nlohmann::json j = nlohmann::json::parse(result.out, nullptr, false);
  if (!j.is_object())
    throw CheckError(where + ": credential_process printed no JSON object. " + fix);
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!j.contains("Version") || j["Version"] != 1)
    throw CheckError(where + ": credential_process printed JSON without \"Version\": 1. " + fix);
  std::string printed = " printed by the credential_process of " + where;
  Credentials c{text("AccessKeyId"),     text("SecretAccessKey"),
                text("SessionToken"),    "credential_process of " + where,
                "AccessKeyId" + printed, "SecretAccessKey" + printed,
                "SessionToken" + printed};
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    throw CheckError(where + ": credential_process printed no AccessKeyId and SecretAccessKey. " +
                     fix);
  if (std::string expiration = text("Expiration"); !expiration.empty()) {
    auto expires = parse_iso8601(expiration);
    if (!expires)
      throw CheckError(where +
                       ": credential_process gave an Expiration that is not an ISO 8601 "
                       "time: '" +
                       expiration + "'. " + fix);
    if (*expires <= now_epoch())
      throw CheckError(where + ": credential_process handed out credentials that expired at " +
                       expiration +
                       "; it must refresh them (log in again, renew the token) "
                       "before printing them");
  }
  return c;
}

namespace {

// As root, the file that names a credential_process decides what runs as root: only a file
// nobody but root can change may do that.
void refuse_untrusted_command_file(const std::string& file, const std::string& where) {
  if (::geteuid() != 0) return;
  std::string why = support::untrusted_path_reason(file);
  if (why.empty()) return;
  throw sdk::CheckError(where + ": credential_process was not run: " + why +
                        ", and the command it names would run as root, so whoever can change "
                        "the file could run code as root. Make the file and its directories "
                        "root's and not writable by others (`chown root: " +
                        sdk::shell_quote(file) + " && chmod 600 " + sdk::shell_quote(file) +
                        "`), or give the check its keys another way");
}

}  // namespace

namespace {

// 1. Explicit parameters (the region may still come from the profile's config).
void take_parameters(const CredentialQuery& q, CredentialResolution& r) {
  using sdk::CheckError;
  if (!q.access_key_id && !q.secret_access_key) return;
  if (!q.access_key_id || q.access_key_id->empty())
    throw CheckError("secret_access_key is set but access_key_id is missing");
  if (!q.secret_access_key || q.secret_access_key->empty())
    throw CheckError("access_key_id is set but secret_access_key is missing");
  r.credentials = Credentials{*q.access_key_id,
                              *q.secret_access_key,
                              q.session_token.value_or(""),
                              "check parameters",
                              "`access_key_id` of the check",
                              "`secret_access_key` of the check",
                              "`session_token` of the check"};
  r.searched.push_back("check parameters");
}

// 2. The environment; true when it held the credentials.
bool take_environment(CredentialResolution& r) {
  using sdk::CheckError;
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  r.searched.push_back("environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  if (id && !secret) throw CheckError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  if (secret && !id) throw CheckError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
  if (!id || !secret) return false;
  auto token = env("AWS_SESSION_TOKEN");
  std::string token_variable = token ? "AWS_SESSION_TOKEN" : "AWS_SECURITY_TOKEN";
  if (!token) token = env("AWS_SECURITY_TOKEN");
  r.credentials = Credentials{*id,
                              *secret,
                              token.value_or(""),
                              "environment",
                              "AWS_ACCESS_KEY_ID in the environment",
                              "AWS_SECRET_ACCESS_KEY in the environment",
                              token_variable + " in the environment"};
  return true;
}

// Static keys from one section of a credentials or config file; true when it held them. A
// section that defers to what we do not resolve (SSO, assumed roles) is noted in `unsupported`.
bool take_section(const std::map<std::string, std::string>& keys, const std::string& where,
                  const std::string& profile, CredentialResolution& r) {
  auto id = keys.find("aws_access_key_id");
  auto secret = keys.find("aws_secret_access_key");
  if (id != keys.end() && secret != keys.end() && !id->second.empty() && !secret->second.empty()) {
    std::string token, token_key = "aws_session_token";
    if (auto t = keys.find("aws_session_token"); t != keys.end())
      token = t->second;
    else if (auto t2 = keys.find("aws_security_token"); t2 != keys.end())
      token = t2->second, token_key = "aws_security_token";
    r.credentials = Credentials{id->second,
                                secret->second,
                                token,
                                where,
                                "aws_access_key_id in " + where,
                                "aws_secret_access_key in " + where,
                                token_key + " in " + where};
    return true;
  }
  for (const char* k : kIndirectKeys)
    if (keys.count(k) && r.unsupported.empty())
      r.unsupported = where + " uses " + k +
                      ", which backup-doctor does not resolve itself; let the AWS CLI v2 do it "
                      "through a profile with `credential_process = aws configure "
                      "export-credentials --profile " +
                      profile +
                      " --format process` and name that profile, or export temporary "
                      "credentials into the environment";
  return false;
}

}  // namespace

CredentialResolution resolve_credentials(const CredentialQuery& q) {
  using sdk::CheckError;
  CredentialResolution r;

  take_parameters(q, r);

  std::string profile =
      q.profile ? *q.profile
                : env("AWS_PROFILE").value_or(env("AWS_DEFAULT_PROFILE").value_or("default"));
  r.profile = profile;
  std::string credentials_file =
      q.credentials_file
          ? *q.credentials_file
          : env("AWS_SHARED_CREDENTIALS_FILE").value_or(home_file("/.aws/credentials"));
  std::string config_file =
      q.config_file ? *q.config_file : env("AWS_CONFIG_FILE").value_or(home_file("/.aws/config"));

  auto config = read_aws_ini(config_file);
  std::string config_section = profile == "default" ? "default" : "profile " + profile;
  auto config_it = config.find(config_section);
  if (config_it != config.end()) {
    auto region = config_it->second.find("region");
    if (region != config_it->second.end()) r.profile_region = region->second;
  }
  if (r.credentials) return r;

  // 2. Environment, unless a profile was named explicitly in the check.
  if (!q.profile && take_environment(r)) return r;

  // 3. Shared credentials file (static keys).
  r.searched.push_back(credentials_file + " [" + profile + "]");
  auto creds = read_aws_ini(credentials_file);
  if (auto it = creds.find(profile); it != creds.end())
    if (take_section(it->second, credentials_file + " [" + profile + "]", profile, r)) return r;

  // 4. The profile's credential_process (from either file), where the AWS SDKs run it: after
  //    the credentials file's static keys, before the config file's.
  auto process_in = [&](const std::map<std::string, std::string>& keys) -> std::string {
    auto it = keys.find("credential_process");
    return it == keys.end() ? std::string() : it->second;
  };
  std::string command, where, command_file;
  if (auto it = creds.find(profile); it != creds.end() && !process_in(it->second).empty()) {
    command = process_in(it->second);
    command_file = credentials_file;
    where = credentials_file + " [" + profile + "]";
  } else if (config_it != config.end() && !process_in(config_it->second).empty()) {
    command = process_in(config_it->second);
    command_file = config_file;
    where = config_file + " [" + config_section + "]";
  }
  if (!command.empty()) {
    r.searched.push_back("credential_process of " + where);
    refuse_untrusted_command_file(command_file, where);
    r.credentials = run_credential_process(command, where, q.process_timeout);
    return r;
  }

  // 5. Config file.
  r.searched.push_back(config_file + " [" + config_section + "]");
  if (config_it != config.end())
    if (take_section(config_it->second, config_file + " [" + config_section + "]", profile, r))
      return r;

  return r;
}

std::string resolve_region(const std::optional<std::string>& param,
                           const CredentialResolution& resolution) {
  if (param && !param->empty()) return *param;
  if (auto v = env("AWS_REGION")) return *v;
  if (auto v = env("AWS_DEFAULT_REGION")) return *v;
  if (!resolution.profile_region.empty()) return resolution.profile_region;
  return "us-east-1";
}

}  // namespace backup_doctor::s3
