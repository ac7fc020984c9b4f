// s3.auth: the credentials the backup uses are accepted. A signed STS GetCallerIdentity names
// the identity where STS exists; a signed HeadBucket proves the bucket answers to it. Failures
// are told apart by the error code: unknown key, wrong secret, expired token, access denied,
// clock skew (measured from the server's Date header), missing bucket.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "masking.hpp"
#include "xml.hpp"

#include <backup_doctor/duration.hpp>

#include <cstdlib>

namespace backup_doctor::s3 {

using nlohmann::json;

namespace {

bool is_credential_code(const std::string& code) {
  for (const char* c :
       {"InvalidAccessKeyId", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
        "ExpiredTokenException", "TokenRefreshRequired", "InvalidToken", "RequestTimeTooSkewed",
        "NotSignedUp", "AccessDenied", "AccessDeniedException"})
    if (code == c) return true;
  return false;
}

const char* kDoc =
    "Resolves credentials the way the AWS CLI does (parameters; AWS_ACCESS_KEY_ID, "
    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN unless `profile` is given; the shared "
    "credentials file; the config file) and sends signed requests: STS GetCallerIdentity where "
    "STS is available, and HeadBucket on `bucket`. Tells apart InvalidAccessKeyId, "
    "SignatureDoesNotMatch, ExpiredToken/InvalidToken, AccessDenied, RequestTimeTooSkewed (with "
    "the skew measured from the Date header) and NoSuchBucket, each with its own remediation. "
    "Emits `clock_skew` (seconds, server minus local) and warns above `max_clock_skew`.";

// What the signed requests found so far; a failure's finding carries it too.
struct Probe {
  json details;
  std::optional<int64_t> skew;      // from the first answer with a Date header
  std::vector<std::string> passed;  // the requests that were accepted, for the summary
};

void note_skew(Probe& probe, const Response& r) {
  if (!probe.skew) probe.skew = clock_skew_seconds(r);
}

// True when no credentials were found (reported: the backup job cannot sign either).
bool report_no_credentials(const CredentialResolution& res, json& details, CheckReport& out) {
  if (res.credentials) return false;
  std::string where;
  for (const auto& s : res.searched) where += "\n  - " + s;
  details["searched"] = res.searched;
  out.report(Status::fail, "no S3 credentials found for profile " + res.profile,
             "The backup job cannot sign requests. Provide an access key: export "
             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the keys to the profile in "
             "the shared credentials file (`aws configure --profile " +
                 res.profile + "`)." +
                 (res.unsupported.empty() ? std::string() : " Note: " + res.unsupported + ".") +
                 " Looked in:" + where,
             details);
  return true;
}

// The STS endpoint to call, or "" when STS is not used. Throws when there is nothing to test.
std::string sts_endpoint(const json& params, const Connection& conn) {
  std::string sts = params.value("sts_endpoint", "");
  if (sts.empty() && !conn.client->config().custom_endpoint)
    sts = "https://sts." + conn.region + ".amazonaws.com";
  bool use_sts = params.value("use_sts", !sts.empty());
  if (use_sts && sts.empty())
    throw sdk::CheckError("use_sts is true but no sts_endpoint is known for a custom endpoint");
  if (!use_sts && conn.bucket.empty())
    throw sdk::CheckError("nothing to test: give a bucket, or an STS endpoint (sts_endpoint)");
  return use_sts ? sts : std::string();
}

void call_sts(const Connection& conn, const std::string& sts, Probe& probe) {
  Request req;
  req.operation = "GetCallerIdentity";
  req.method = "POST";
  req.service = "sts";
  req.url = sts;
  while (!req.url.empty() && req.url.back() == '/') req.url.pop_back();
  req.url += "/";
  req.body = "Action=GetCallerIdentity&Version=2011-06-15";
  req.content_type = "application/x-www-form-urlencoded; charset=utf-8";
  Response r = conn.client->send(req);
  note_skew(probe, r);
  std::optional<XmlDocument> doc;
  if (r.ok()) doc = XmlDocument::parse(r.body);
  std::optional<XmlNode> result;
  if (doc) result = doc->root().find("GetCallerIdentityResult");
  if (result) {
    probe.details["identity"] = {{"arn", result->child_text("Arn")},
                                 {"account", result->child_text("Account")},
                                 {"user_id", result->child_text("UserId")}};
    probe.passed.push_back("GetCallerIdentity as " + result->child_text("Arn"));
  } else if (!r.transport_ok() || is_credential_code(r.error.code)) {
    throw RequestFailed(req.operation, "", "", r);
  } else {
    // Something answered that is not STS (404, 405, HTML): fall back to the bucket.
    probe.details["sts"] = "unavailable at " + sts + " (" + r.describe() + ")";
    if (conn.bucket.empty()) throw RequestFailed(req.operation, "", "", r);
  }
}

void head_bucket(const Connection& conn, Probe& probe) {
  Request head;
  head.operation = "HeadBucket";
  head.method = "HEAD";
  head.bucket = conn.bucket;
  Response r = conn.client->send(head);
  note_skew(probe, r);
  if (!r.ok()) {
    if (!r.transport_ok()) throw RequestFailed(head.operation, conn.bucket, "", r);
    // HEAD answers carry no error document; a one-key listing tells which error it is.
    Request list;
    list.operation = "HeadBucket";
    list.bucket = conn.bucket;
    list.query = {{"list-type", "2"}, {"max-keys", "1"}};
    Response l = conn.client->send(list);
    note_skew(probe, l);
    throw RequestFailed(head.operation, conn.bucket, "", l.ok() ? r : l);
  }
  probe.details["bucket"] = conn.bucket;
  if (auto region = r.header("x-amz-bucket-region"); !region.empty())
    probe.details["bucket_region"] = region;
  probe.passed.push_back("HeadBucket " + conn.bucket);
}

// Every request passed: ok, or a warning when the clock is about to break signatures.
void report_accepted(const Connection& conn, std::chrono::milliseconds max_skew, Probe& probe,
                     CheckReport& out) {
  const auto& res = conn.resolution;
  const std::optional<int64_t>& skew = probe.skew;
  json labels = {{"endpoint", conn.endpoint_display}};
  if (skew) {
    probe.details["clock_skew_seconds"] = *skew;
    out.metric("clock_skew", static_cast<double>(*skew), "seconds", labels);
  }
  probe.details["retries"] = conn.client->retry_details();
  std::string summary = "signed requests accepted (";
  for (size_t i = 0; i < probe.passed.size(); ++i) summary += (i ? ", " : "") + probe.passed[i];
  summary +=
      ") with " + mask_key_id(res.credentials->access_key_id) + " from " + res.credentials->source;
  if (skew && std::chrono::seconds(std::llabs(*skew)) > max_skew) {
    out.report(Status::warn,
               summary + ", but this host's clock is " +
                   format_duration(std::chrono::seconds(std::llabs(*skew))) +
                   (*skew > 0 ? " behind" : " ahead of") + " the server",
               "Requests still pass, but beyond 15 minutes of skew S3 rejects every signature "
               "(RequestTimeTooSkewed). Synchronise the clock now: `timedatectl status`, "
               "enable NTP (`timedatectl set-ntp true` or chrony).",
               probe.details);
    return;
  }
  out.report(Status::ok, summary, "", probe.details);
}

// A rejected request is the finding, with what was learnt before it and the skew measured.
void report_rejected(const RequestFailed& failure, const Connection& conn, const Probe& probe,
                     CheckReport& out) {
  Finding f = diagnose(failure, conn, true);
  json extra = probe.details;
  extra["retries"] = conn.client->retry_details();
  if (probe.skew && !f.details.contains("clock_skew_seconds"))
    extra["clock_skew_seconds"] = *probe.skew;
  if (f.details.contains("clock_skew_seconds"))
    out.metric("clock_skew", f.details["clock_skew_seconds"].get<double>(), "seconds",
               {{"endpoint", conn.endpoint_display}});
  out.finding(f, extra);
}

void run(const json& params, sdk::Context& ctx) {
  Connection conn = connect(params, ctx, false);
  CheckReport out(ctx, conn);
  auto max_skew = duration_param(params, "max_clock_skew", "5m");

  const auto& res = conn.resolution;
  Probe probe;
  probe.details = {{"endpoint", conn.endpoint_display}, {"region", conn.region}};
  if (report_no_credentials(res, probe.details, out)) return;
  probe.details["credential_source"] = res.credentials->source;
  probe.details["access_key_id"] = mask_key_id(res.credentials->access_key_id);
  probe.details["session_token"] = !res.credentials->session_token.empty();

  std::string sts = sts_endpoint(params, conn);
  bool use_sts = !sts.empty();
  if (use_sts) out.note_endpoint(sts, true);

  try {
    if (use_sts) call_sts(conn, sts, probe);
    if (!conn.bucket.empty()) head_bucket(conn, probe);
    report_accepted(conn, max_skew, probe, out);
  } catch (const RequestFailed& failure) {
    report_rejected(failure, conn, probe, out);
  } catch (const Cancelled&) {
    out.report(Status::error, "cancelled before the answer was complete",
               "The check ran out of time; raise its timeout.", probe.details);
  }
}

}  // namespace

sdk::CheckType auth_check() {
  json p = connection_properties();
  p["bucket"] = {{"type", "string"},
                 {"minLength", 1},
                 {"description",
                  "Bucket to send a signed HeadBucket to. Default: none (STS only; then "
                  "`endpoint` must be AWS or `sts_endpoint` given)."}};
  p["sts_endpoint"] = {
      {"type", "string"},
      {"description",
       "STS endpoint for GetCallerIdentity. Default: https://sts.<region>.amazonaws.com "
       "for AWS; none for a custom `endpoint` (most S3-compatible stores have no STS)."}};
  p["use_sts"] = {
      {"type", "boolean"},
      {"description",
       "Call STS GetCallerIdentity. Default: true when an STS endpoint is known (AWS, or "
       "`sts_endpoint` set)."}};
  p["max_clock_skew"] = sdk::duration_schema(
      "Warn when the server's clock (Date header) differs from this host's by more than this; "
      "S3 rejects signatures beyond 15 minutes.",
      "5m");

  return {.type = "s3.auth",
          .summary = "The backup's S3 credentials are accepted (and whose they are)",
          .doc = kDoc,
          .params_schema = make_schema(p, {}),
          .run = &run};
}

}  // namespace backup_doctor::s3
