#include "connection.hpp"
#include <backup_doctor/schema.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <backup_doctor/text.hpp>

#include <unistd.h>

#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using sdk::shell_quote;

using nlohmann::json;

json connection_properties() {
  json p;
  p["endpoint"] = {
      {"type", "string"},
      {"description",
       "Base URL of the S3 API, e.g. \"https://minio.internal:9000\" for an S3-compatible store. "
       "Plain http:// to another host is reported in every result (session token, requests "
       "and answers travel in clear; a signed check that would pass warns). Default: AWS, "
       "https://s3.<region>.amazonaws.com."}};
  p["region"] = {{"type", "string"},
                 {"description",
                  "Signing region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region "
                  "in the config file, else \"us-east-1\"."}};
  p["path_style"] = {{"type", "boolean"},
                     {"description",
                      "Address buckets as <endpoint>/<bucket> instead of <bucket>.<host>. "
                      "Default: true when \"endpoint\" is set (most S3-compatible stores), false "
                      "for AWS."}};
  p["access_key_id"] = {{"type", "string"},
                        {"description",
                         "Access key id. Default: AWS_ACCESS_KEY_ID, then the shared credentials "
                         "and config files for the profile."}};
  p["secret_access_key"] = {
      {"type", "string"},
      {"description",
       "Secret access key; pass it as {\"secret\":{\"env\":\"AWS_SECRET_ACCESS_KEY\"}}. Never "
       "printed."}};
  p["session_token"] = {{"type", "string"},
                        {"description",
                         "Session token of temporary credentials (with access_key_id). Default: "
                         "AWS_SESSION_TOKEN with the environment credentials. Never printed."}};
  p["profile"] = {{"type", "string"},
                  {"description",
                   "Profile in the shared credentials/config files. Naming it skips the "
                   "environment variables, as the AWS CLI's --profile does. Its static keys or "
                   "its credential_process are used. Default: AWS_PROFILE, else \"default\"."}};
  p["credentials_file"] = {{"type", "string"},
                           {"description",
                            "Shared credentials file (never read through a link another "
                            "account made, nor as a FIFO). Default: AWS_SHARED_CREDENTIALS_FILE, "
                            "else ~/.aws/credentials."}};
  p["config_file"] = {
      {"type", "string"},
      {"description",
       "AWS config file. As root, a credential_process in it (or in the credentials file) runs "
       "only when nobody but root can change that file. Default: AWS_CONFIG_FILE, else "
       "~/.aws/config."}};
  p["timeout"] = sdk::duration_schema(
      "Limit for each HTTP request, from connect to last byte, and for the profile's "
      "credential_process.",
      "30s");
  p["connect_timeout"] =
      sdk::duration_schema("Limit for DNS, TCP connect and TLS handshake of each request.", "10s");
  p["max_retries"] = {{"type", "integer"},
                      {"minimum", 0},
                      {"maximum", 10},
                      {"default", 3},
                      {"description",
                       "Retries of a request answered 503 SlowDown, 429, 500, 502 or 504, with "
                       "exponential backoff and jitter. Default: 3."}};
  p["ca_bundle"] = {{"type", "string"},
                    {"description",
                     "PEM file of CA certificates to trust for a private endpoint; as root, "
                     "one only root can change. Default: the system store."}};
  return p;
}

json location_properties() {
  json p = connection_properties();
  p["bucket"] = {{"type", "string"}, {"minLength", 1}, {"description", "Bucket name."}};
  p["prefix"] = {{"type", "string"}, {"description", "Key prefix. Default: the primary's prefix."}};
  for (auto& [name, prop] : p.items())
    if (name != "bucket" && name != "prefix")
      prop["description"] =
          prop["description"].get<std::string>() + " Default here: the primary location's value.";
  return p;
}

json make_schema(const json& properties, const std::vector<std::string>& required) {
  json schema = {{"type", "object"},
                 {"additionalProperties", false},
                 {"properties", properties},
                 {"required", required}};
  return schema;
}

std::string Connection::aws_cli(const std::string& service) const {
  std::string out = "aws";
  if (client->config().custom_endpoint)
    out += " --endpoint-url " + shell_quote(client->config().endpoint);
  if (!profile_param.empty()) out += " --profile " + shell_quote(profile_param);
  if (!client->config().custom_endpoint || region != "us-east-1")
    out += " --region " + shell_quote(region);
  return out + " " + service;
}

Connection connect(const json& params, sdk::Context& ctx, bool require_credentials,
                   const json& overrides) {
  auto get = [&](const char* name) -> const json* {
    if (overrides.contains(name)) return &overrides[name];
    if (params.contains(name)) return &params[name];
    return nullptr;
  };
  // An empty string counts as not given: checklists pass "${env:X}" for unset variables.
  auto get_string = [&](const char* name) -> std::optional<std::string> {
    const json* v = get(name);
    if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty())
      return std::nullopt;
    return v->get<std::string>();
  };
  // Credentials given in the overrides replace the primary's as a whole.
  bool own_keys = overrides.contains("access_key_id") || overrides.contains("profile");
  auto cred_string = [&](const char* name) -> std::optional<std::string> {
    if (own_keys) {
      if (overrides.contains(name) && overrides[name].is_string() &&
          !overrides[name].get_ref<const std::string&>().empty())
        return overrides[name].get<std::string>();
      return std::nullopt;
    }
    return get_string(name);
  };

  CredentialQuery q;
  q.access_key_id = cred_string("access_key_id");
  q.secret_access_key = cred_string("secret_access_key");
  q.session_token = cred_string("session_token");
  q.profile = cred_string("profile");
  q.credentials_file = get_string("credentials_file");
  q.config_file = get_string("config_file");
  json merged = params;
  for (auto& [k, v] : overrides.items()) merged[k] = v;
  q.process_timeout = duration_param(merged, "timeout", "30s");

  Connection c;
  c.resolution = resolve_credentials(q);
  c.profile_param = q.profile.value_or("");
  c.region = resolve_region(get_string("region"), c.resolution);
  if (auto b = get_string("bucket")) c.bucket = *b;

  ClientConfig cfg;
  cfg.region = c.region;
  auto endpoint = get_string("endpoint");
  if (endpoint && !endpoint->empty()) {
    cfg.endpoint = *endpoint;
    while (!cfg.endpoint.empty() && cfg.endpoint.back() == '/') cfg.endpoint.pop_back();
    if (cfg.endpoint.find("://") == std::string::npos) cfg.endpoint = "https://" + cfg.endpoint;
    cfg.custom_endpoint = true;
    c.endpoint_display = cfg.endpoint;
  } else {
    cfg.endpoint = "https://s3." + c.region + ".amazonaws.com";
    c.endpoint_display = cfg.endpoint;
  }
  const json* ps = get("path_style");
  cfg.path_style = ps && ps->is_boolean() ? ps->get<bool>() : cfg.custom_endpoint;
  // Dotted bucket names do not match the endpoint's wildcard certificate.
  if (!cfg.custom_endpoint && c.bucket.find('.') != std::string::npos) cfg.path_style = true;

  cfg.timeout = q.process_timeout;
  cfg.connect_timeout = duration_param(merged, "connect_timeout", "10s");
  if (cfg.connect_timeout > cfg.timeout) cfg.connect_timeout = cfg.timeout;
  cfg.max_retries = merged.value("max_retries", 3);
  if (auto ca = get_string("ca_bundle")) {
    // The CA bundle decides which servers the check believes: as root, only one that nobody
    // else can change (another account could otherwise vouch for its own server).
    if (::geteuid() == 0)
      if (std::string why = support::untrusted_path_reason(*ca); !why.empty())
        throw sdk::CheckError("ca_bundle " + *ca + " was not used: " + why +
                              "; whoever can change it decides which servers this check (run "
                              "as root) trusts. Keep the CA file where only root can change it");
    cfg.ca_bundle = *ca;
  }
  cfg.credentials = c.resolution.credentials;
  cfg.cancelled = [&ctx] { return ctx.cancelled(); };

  if (require_credentials && !cfg.credentials) {
    std::string where;
    for (const auto& s : c.resolution.searched) where += (where.empty() ? "" : ", ") + s;
    std::string msg = "no S3 credentials found (looked in: " + where + ")";
    if (!c.resolution.unsupported.empty()) msg += "; " + c.resolution.unsupported;
    throw sdk::CheckError(msg);
  }
  c.client = std::make_unique<Client>(std::move(cfg));
  return c;
}

}  // namespace backup_doctor::s3
