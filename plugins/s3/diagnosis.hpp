// Turning what S3 answered into findings: which IAM action an operation needs, what an error
// code means for a backup, and what to do about it. Also the one place where results leave a
// check: it tells the context the connection's secrets (masked in everything reported) and adds
// the warning about plain http.
#pragma once

#include "connection.hpp"
#include "s3_api.hpp"

#include <backup_doctor/sdk.hpp>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::s3 {

using sdk::Status;

// What a failed request means.
struct Finding {
  Status status = Status::error;
  std::string category;  // "dns", "timeout", "invalid_access_key", "access_denied", ...
  std::string summary;
  std::string remediation;
  nlohmann::json details = nlohmann::json::object();
};

// The IAM action an S3 operation needs ("ListObjectsV2" -> "s3:ListBucket").
std::string iam_action(const std::string& operation);
// "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/*" as the action needs.
std::string iam_resource(const std::string& operation, const std::string& bucket);
// A policy statement granting `actions` on `bucket`, as JSON text for a remediation.
std::string policy_statement(const std::vector<std::string>& operations, const std::string& bucket);

// Seconds the server's clock is ahead of ours (Date header), when the answer had one.
std::optional<int64_t> clock_skew_seconds(const Response& response);

// Classifies a failed request. `auth_failures_fail`: whether credential and permission errors
// are the finding itself (s3.auth, s3.permissions) rather than a reason the check could not
// run (error).
Finding diagnose(const RequestFailed& failure, const Connection& conn, bool auth_failures_fail);

// "http://s3.internal:9000" when `url` is plain http to a host that is not loopback, else "".
std::string plaintext_endpoint(const std::string& url);

// Sends an s3 check's results. The connection's secrets are given to the context, which masks
// them in everything reported; and a request that went over plain http to another host is said:
// the session token, the request and the answer travel in clear there and the answer can be
// forged, so a signed check that would be ok is a warning (an unsigned one keeps its status and
// gets the note).
class CheckReport {
 public:
  CheckReport(sdk::Context& ctx, const Connection& conn) : ctx_(ctx) { add_connection(conn); }
  void add_secrets(const std::vector<std::string>& more);
  void add_connection(const Connection& conn);
  // Another endpoint the check sends requests to (an STS endpoint); `signed_requests`: with
  // credentials.
  void note_endpoint(const std::string& url, bool signed_requests);
  void report(Status status, const std::string& summary, const std::string& remediation,
              nlohmann::json details);
  void metric(const std::string& name, double value, const std::string& unit,
              const nlohmann::json& labels);
  void finding(const Finding& f, nlohmann::json extra_details = nlohmann::json::object());
  // `text` with the secrets masked, for text built before it is reported.
  std::string clean(const std::string& text) const { return ctx_.scrub(text); }

 private:
  sdk::Context& ctx_;
  std::vector<std::string> plaintext_;  // endpoints reached over plain http
  bool plaintext_signed_ = false;
};

// Runs `body` (the check's requests) and turns the exceptions of the s3 layer into results:
// RequestFailed through diagnose(), Cancelled as an error. CheckError passes through.
template <typename F>
void run_requests(CheckReport& out, const Connection& conn, bool auth_failures_fail, F&& body) {
  try {
    body();
  } catch (const RequestFailed& failure) {
    Finding f = diagnose(failure, conn, auth_failures_fail);
    nlohmann::json extra = {{"retries", conn.client->retry_details()}};
    out.finding(f, extra);
  } catch (const Cancelled&) {
    out.report(Status::error, "cancelled before the answer was complete",
               "The check ran out of time; raise its timeout or narrow the prefix.",
               {{"retries", conn.client->retry_details()}});
  }
}

}  // namespace backup_doctor::s3
