#include "diagnosis.hpp"

#include "masking.hpp"
#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

#include <curl/curl.h>
#include <backup_doctor/duration.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace backup_doctor::s3 {

using sdk::shell_quote;

using nlohmann::json;

std::string iam_action(const std::string& operation) {
  static const std::map<std::string, std::string> actions = {
      {"ListObjectsV2", "s3:ListBucket"},
      {"HeadBucket", "s3:ListBucket"},
      {"HeadObject", "s3:GetObject"},
      {"GetObject", "s3:GetObject"},
      {"PutObject", "s3:PutObject"},
      {"DeleteObject", "s3:DeleteObject"},
      {"CreateMultipartUpload", "s3:PutObject"},
      {"UploadPart", "s3:PutObject"},
      {"AbortMultipartUpload", "s3:AbortMultipartUpload"},
      {"ListMultipartUploads", "s3:ListBucketMultipartUploads"},
      {"ListParts", "s3:ListMultipartUploadParts"},
      {"GetBucketLocation", "s3:GetBucketLocation"},
      {"GetCallerIdentity", "sts:GetCallerIdentity"},
  };
  auto it = actions.find(operation);
  return it == actions.end() ? "s3:" + operation : it->second;
}

std::string iam_resource(const std::string& operation, const std::string& bucket) {
  std::string action = iam_action(operation);
  bool bucket_level = action == "s3:ListBucket" || action == "s3:ListBucketMultipartUploads" ||
                      action == "s3:GetBucketLocation";
  return "arn:aws:s3:::" + bucket + (bucket_level ? "" : "/*");
}

std::string policy_statement(const std::vector<std::string>& operations,
                             const std::string& bucket) {
  // Group actions by resource, the way a reviewer reads a policy.
  std::map<std::string, std::vector<std::string>> by_resource;
  for (const auto& op : operations) {
    auto& list = by_resource[iam_resource(op, bucket)];
    std::string action = iam_action(op);
    if (std::find(list.begin(), list.end(), action) == list.end()) list.push_back(action);
  }
  json statements = json::array();
  for (const auto& [resource, actions] : by_resource)
    statements.push_back({{"Effect", "Allow"}, {"Action", actions}, {"Resource", resource}});
  return statements.size() == 1 ? statements[0].dump() : statements.dump();
}

std::optional<int64_t> clock_skew_seconds(const Response& response) {
  auto date = parse_http_date(response.header("date"));
  if (!date) return std::nullopt;
  // The Date header has whole seconds and was produced while the request was in flight.
  return *date - now_epoch();
}

namespace {

std::string host_of(const std::string& url) {
  auto s = url.find("://");
  size_t b = s == std::string::npos ? 0 : s + 3;
  auto e = url.find('/', b);
  return url.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

std::string hostname_of(const std::string& url) {
  std::string hp = host_of(url);
  if (!hp.empty() && hp[0] == '[') return hp.substr(0, hp.find(']') + 1);
  auto colon = hp.rfind(':');
  return colon == std::string::npos ? hp : hp.substr(0, colon);
}

std::string credential_where(const Connection& conn) {
  return conn.resolution.credentials ? conn.resolution.credentials->source
                                     : std::string("the credential source");
}

// Where one value of the credentials was read ("AWS_SECRET_ACCESS_KEY in the environment"), for
// the finding that says that very value is wrong.
enum class CredentialField { key_id, secret, token };
std::string credential_field(const Connection& conn, CredentialField field) {
  if (!conn.resolution.credentials) return "the credential source";
  const Credentials& c = *conn.resolution.credentials;
  const std::string& named = field == CredentialField::key_id   ? c.key_id_from
                             : field == CredentialField::secret ? c.secret_from
                                                                : c.token_from;
  return named.empty() ? c.source : named;
}

// A failed request, with what every phrasing of it needs.
struct Failed {
  const RequestFailed& failure;
  const Connection& conn;
  const Response& r;
  const std::string& op;
  const std::string& bucket;
  std::string target;  // the endpoint, "bucket b" or "s3://b/key"
  Status auth_status;  // of credential and permission errors: fail or error
  std::string key_id;  // masked access key id, "(none)"; set for S3 errors only
};

void phrase_dns(const Failed& e, Finding& f) {
  f.category = "dns";
  f.summary = e.op + ": cannot resolve " + hostname_of(e.r.url);
  f.remediation = "The name " + hostname_of(e.r.url) +
                  " does not resolve from this host. Check the endpoint spelling and the "
                  "resolver (`getent hosts " +
                  hostname_of(e.r.url) +
                  "`, /etc/resolv.conf); s3.reachable shows each "
                  "network step.";
}

// No connect time: the packets were dropped; else the server hangs after accepting.
void phrase_timeout(const Failed& e, const std::string& host, Finding& f) {
  f.category = "timeout";
  if (e.r.timings.connect == 0) {
    f.summary = e.op + ": TCP connect to " + host + " timed out";
    f.remediation = "Packets to " + host +
                    " get no answer at all: a firewall or security group silently dropping "
                    "traffic is the usual cause. Allow outbound HTTPS from this host to the "
                    "endpoint.";
  } else {
    f.summary = e.op + ": " + host + " accepted the connection but did not answer in time";
    f.remediation = "The endpoint at " + host +
                    " is reachable but hangs: check the storage service's health and any "
                    "proxy in between, or raise `timeout` if it is merely slow.";
  }
}

// No HTTP answer: which network step failed, from curl's code.
void phrase_transport_failure(const Failed& e, Finding& f) {
  const Response& r = e.r;
  f.details["transport_error"] = r.curl_error;
  std::string host = host_of(r.url);
  f.status = Status::error;
  switch (r.curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      phrase_dns(e, f);
      break;
    case CURLE_COULDNT_CONNECT:
      f.category = "connect";
      f.summary = e.op + ": connection to " + host + " refused";
      f.remediation = "Nothing accepts connections at " + host +
                      ": check the endpoint URL and port, that the storage service is running, "
                      "and the outbound firewall rules of this host.";
      break;
    case CURLE_OPERATION_TIMEDOUT:
      phrase_timeout(e, host, f);
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
      f.category = "tls";
      f.summary = e.op + ": TLS with " + host + " failed: " + r.curl_error;
      f.remediation = "The TLS handshake with " + host +
                      " failed. A proxy intercepting TLS or a private CA are the usual causes: "
                      "run s3.reachable to see the certificate's issuer, and give the CA as "
                      "`ca_bundle` if it is legitimately private.";
      break;
    default:
      f.category = r.curl_error == "cancelled" ? "cancelled" : "transport";
      f.summary = e.op + " on " + e.target + " failed: " + r.curl_error;
      f.remediation = "The request did not complete; run s3.reachable against " +
                      e.conn.endpoint_display + " to see which network step fails.";
  }
}

void phrase_invalid_access_key(const Failed& e, Finding& f) {
  std::string key_id_from = credential_field(e.conn, CredentialField::key_id);
  f.status = e.auth_status;
  f.category = "invalid_access_key";
  f.details["wrong_value"] = key_id_from;
  f.summary = e.op + ": access key " + e.key_id + " (" + key_id_from + ") is not known to " +
              e.conn.endpoint_display;
  f.remediation = "The access key id in " + key_id_from +
                  " is wrong: that key was deleted, deactivated, or belongs to another account "
                  "or endpoint. Issue a new key for the backup identity (`aws iam "
                  "create-access-key --user-name <backup user>`), put its id in " +
                  key_id_from + " and its secret in " +
                  credential_field(e.conn, CredentialField::secret) + ".";
}

void phrase_signature_mismatch(const Failed& e, Finding& f) {
  std::string secret_from = credential_field(e.conn, CredentialField::secret);
  f.status = e.auth_status;
  f.category = "signature_mismatch";
  f.details["wrong_value"] = secret_from;
  f.summary = e.op + ": the secret key does not belong to access key " + e.key_id + " (" +
              secret_from + " is wrong)";
  f.remediation = "The endpoint knows " + e.key_id + " (" +
                  credential_field(e.conn, CredentialField::key_id) +
                  ") but the request was signed with another secret: the value of " + secret_from +
                  " is wrong. Re-enter there the secret issued with that key (a truncated paste "
                  "or a trailing space is typical); if it is right, look for a proxy that "
                  "rewrites requests.";
}

void phrase_expired_token(const Failed& e, Finding& f) {
  std::string token_from = credential_field(e.conn, CredentialField::token);
  f.status = e.auth_status;
  f.category = "expired_token";
  f.details["wrong_value"] = token_from;
  f.summary = e.op + ": the session token of " + e.key_id + " (" + token_from + ") has expired";
  f.remediation = "Temporary credentials from " + credential_where(e.conn) +
                  " are past their expiry. Refresh them (assume the role or log in again) before "
                  "the backup runs, or give the backup job credentials that renew themselves "
                  "(instance or task role).";
}

void phrase_invalid_token(const Failed& e, Finding& f) {
  std::string token_from = credential_field(e.conn, CredentialField::token);
  f.status = e.auth_status;
  f.category = "invalid_token";
  f.details["wrong_value"] = token_from;
  f.summary =
      e.op + ": the session token sent with " + e.key_id + " (" + token_from + ") is not valid";
  f.remediation = "The session token in " + token_from + " does not belong to " + e.key_id +
                  " or is malformed: set the access key, secret and token of one and the same "
                  "set of temporary credentials.";
}

void phrase_access_denied(const Failed& e, Finding& f) {
  const std::string& op = e.op;
  f.status = e.auth_status;
  f.category = "access_denied";
  f.details["missing_action"] = iam_action(op);
  f.summary = op + " on " + e.target + " denied (" + iam_action(op) + ")";
  f.remediation = "The identity behind " + e.key_id + " may not " + iam_action(op) + " on " +
                  iam_resource(op, e.bucket) +
                  ". Grant it in the identity's IAM policy (and check the bucket policy for an "
                  "explicit Deny): " +
                  policy_statement({op}, e.bucket);
}

void phrase_clock_skew(const Failed& e, Finding& f) {
  const Response& r = e.r;
  f.status = e.auth_status;
  f.category = "clock_skew";
  auto skew = clock_skew_seconds(r);
  if (skew) f.details["clock_skew_seconds"] = *skew;
  if (auto st = r.error.fields.find("ServerTime"); st != r.error.fields.end())
    f.details["server_time"] = st->second;
  std::string amount = skew ? format_duration(std::chrono::seconds(std::llabs(*skew))) +
                                  (*skew > 0 ? " behind the server" : " ahead of the server")
                            : std::string("off");
  f.summary = e.op + ": this host's clock is " + amount + "; S3 rejects the signature";
  f.remediation =
      "SigV4 signatures are only accepted within 15 minutes of the server's time. "
      "Synchronise this host's clock (`timedatectl status`; enable NTP with "
      "`timedatectl set-ntp true` or chrony) and rerun.";
}

void phrase_no_such_bucket(const Failed& e, Finding& f) {
  f.status = Status::fail;
  f.category = "no_such_bucket";
  f.summary = "bucket " + e.bucket + " does not exist at " + e.conn.endpoint_display;
  f.remediation =
      "Backups cannot land in a bucket that does not exist. Check the bucket name "
      "in the backup job's configuration and in this checklist, or create it: `" +
      e.conn.aws_cli() + " create-bucket --bucket " + shell_quote(e.bucket) + "`.";
}

void phrase_no_such_key(const Failed& e, Finding& f) {
  f.status = Status::fail;
  f.category = "no_such_key";
  f.summary = e.target + " does not exist";
  f.remediation =
      "The object is missing: check the key, and whether the upload of that backup "
      "finished (`" +
      e.conn.aws_cli() + " list-objects-v2 --bucket " + shell_quote(e.bucket) + " --prefix " +
      shell_quote(e.failure.key()) + "`).";
}

// The bucket's region, from the header or the error document, when the store said it.
void phrase_wrong_region(const Failed& e, Finding& f) {
  const Response& r = e.r;
  f.status = Status::error;
  f.category = "wrong_region";
  std::string region = r.header("x-amz-bucket-region");
  if (auto it = r.error.fields.find("Region"); region.empty() && it != r.error.fields.end())
    region = it->second;
  if (!region.empty()) f.details["bucket_region"] = region;
  f.summary = "bucket " + e.bucket + " is not in region " + e.conn.region +
              (region.empty() ? "" : " but in " + region);
  f.remediation = "Set `region` to " +
                  (region.empty() ? std::string("the bucket's region") : region) +
                  " for this check and in the backup job's configuration.";
}

void phrase_throttled(const Failed& e, Finding& f) {
  const Response& r = e.r;
  f.status = Status::error;
  f.category = "throttled";
  f.summary = e.op + ": the store still answered " + r.describe() + " after " +
              std::to_string(r.attempts - 1) + " retries";
  f.remediation = "The storage service is overloaded or throttling this client (" + r.error.code +
                  "). Spread the backup uploads over time, lower their concurrency "
                  "(`aws configure set default.s3.max_concurrent_requests 4`), and check the "
                  "provider's status page.";
}

void phrase_other_s3_error(const Failed& e, Finding& f) {
  const Response& r = e.r;
  f.status = Status::error;
  f.category = "s3_error";
  f.summary = e.op + " on " + e.target + " failed: " + r.describe();
  f.remediation = "The store refused " + e.op + " with " + r.error.code +
                  "; look the code up in the provider's error reference (request id " +
                  (r.error.request_id.empty() ? std::string("n/a") : r.error.request_id) + ").";
}

// An HTTP answer with an error: classified by its code, then by its status.
void phrase_s3_error(const Failed& e, Finding& f) {
  const std::string& code = e.r.error.code;
  if (code == "InvalidAccessKeyId" || code == "InvalidClientTokenId" || code == "NotSignedUp")
    phrase_invalid_access_key(e, f);
  else if (code == "SignatureDoesNotMatch")
    phrase_signature_mismatch(e, f);
  else if (code == "ExpiredToken" || code == "ExpiredTokenException" ||
           code == "TokenRefreshRequired")
    phrase_expired_token(e, f);
  else if (code == "InvalidToken")
    phrase_invalid_token(e, f);
  else if (code == "AccessDenied" || code == "Forbidden" || code == "AllAccessDisabled" ||
           code == "AccessDeniedException")
    phrase_access_denied(e, f);
  else if (code == "RequestTimeTooSkewed")
    phrase_clock_skew(e, f);
  else if (code == "NoSuchBucket")
    phrase_no_such_bucket(e, f);
  else if (code == "NoSuchKey" || (code == "NotFound" && !e.failure.key().empty()))
    phrase_no_such_key(e, f);
  else if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
           code == "IllegalLocationConstraintException" || code == "TemporaryRedirect")
    phrase_wrong_region(e, f);
  else if (e.r.status == 503 || e.r.status == 429 || e.r.status >= 500)
    phrase_throttled(e, f);
  else
    phrase_other_s3_error(e, f);
}

}  // namespace

Finding diagnose(const RequestFailed& failure, const Connection& conn, bool auth_failures_fail) {
  const Response& r = failure.response();
  const std::string& op = failure.operation();
  const std::string& bucket = failure.bucket();
  std::string target = bucket.empty() ? conn.endpoint_display : "bucket " + bucket;
  if (!failure.key().empty()) target = "s3://" + bucket + "/" + failure.key();

  Finding f;
  f.details = {{"operation", op},
               {"bucket", bucket},
               {"endpoint", conn.endpoint_display},
               {"attempts", r.attempts}};
  if (!failure.key().empty()) f.details["key"] = failure.key();
  Failed e{.failure = failure,
           .conn = conn,
           .r = r,
           .op = op,
           .bucket = bucket,
           .target = target,
           .auth_status = auth_failures_fail ? Status::fail : Status::error,
           .key_id = ""};

  if (!r.transport_ok()) {
    phrase_transport_failure(e, f);
    return f;
  }

  f.details["http_status"] = r.status;
  f.details["code"] = r.error.code;
  if (!r.error.message.empty()) f.details["message"] = r.error.message;
  if (!r.error.request_id.empty()) f.details["request_id"] = r.error.request_id;
  e.key_id = conn.resolution.credentials ? mask_key_id(conn.resolution.credentials->access_key_id)
                                         : std::string("(none)");
  phrase_s3_error(e, f);
  return f;
}

std::string plaintext_endpoint(const std::string& url) {
  if (url.rfind("http://", 0) != 0) return {};
  std::string host = url.substr(7, url.find_first_of("/?#", 7) - 7);
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host.front() == '[')
    host = host.substr(1, host.find(']') - 1);
  else if (auto colon = host.rfind(':'); colon != std::string::npos)
    host = host.substr(0, colon);
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
  return loopback ? std::string() : url.substr(0, url.find_first_of("/?#", 7));
}

void CheckReport::add_secrets(const std::vector<std::string>& more) {
  for (const auto& secret : maskable(more)) ctx_.add_secret(secret);
}

void CheckReport::add_connection(const Connection& conn) {
  add_secrets(conn.secrets());
  note_endpoint(conn.client->config().endpoint, conn.client->config().credentials.has_value());
}

void CheckReport::note_endpoint(const std::string& url, bool signed_requests) {
  std::string endpoint = plaintext_endpoint(url);
  if (endpoint.empty()) return;
  if (std::find(plaintext_.begin(), plaintext_.end(), endpoint) == plaintext_.end())
    plaintext_.push_back(endpoint);
  plaintext_signed_ = plaintext_signed_ || signed_requests;
}

void CheckReport::report(Status status, const std::string& summary, const std::string& remediation,
                         json details) {
  if (plaintext_.empty()) {
    ctx_.report(status, summary, remediation, details);
    return;
  }
  std::string where = plaintext_.front();
  for (size_t i = 1; i < plaintext_.size(); ++i) where += ", " + plaintext_[i];
  std::string risk =
      plaintext_signed_
          ? "requests to " + where +
                " go over plain http: the session token and every request and answer travel "
                "in clear (the signature keeps the secret key itself off the wire but can be "
                "replayed for minutes), and anyone on the path can change the answers this "
                "check relies on"
          : "requests to " + where +
                " go over plain http: anyone on the path can read and change the answers this "
                "check relies on";
  std::string fix =
      "Use an https:// endpoint (most S3-compatible stores serve TLS; give a "
      "private CA as ca_bundle), or keep plain http to a store on this host only.";
  details["plaintext_endpoints"] = plaintext_;
  details["transport_warning"] = risk;
  std::string text = summary;
  std::string todo = remediation;
  if (status == Status::ok && plaintext_signed_) {
    status = Status::warn;
    text += "; but " + risk;
    todo = fix;
  } else {
    text += " (over plain http to " + where + ")";
    todo += (todo.empty() ? "" : "\n") + std::string("Also: ") + risk + ". " + fix;
  }
  ctx_.report(status, text, todo, details);
}

void CheckReport::metric(const std::string& name, double value, const std::string& unit,
                         const json& labels) {
  ctx_.metric(name, value, unit, labels);
}

void CheckReport::finding(const Finding& f, json extra) {
  json details = f.details;
  for (auto& [k, v] : extra.items()) details[k] = v;
  details["category"] = f.category;
  report(f.status, f.summary, f.remediation, details);
}

}  // namespace backup_doctor::s3
