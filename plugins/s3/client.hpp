// The one way the s3 checks talk HTTP: libcurl, signed by libcurl itself (CURLOPT_AWS_SIGV4),
// a timeout on every request, and retries with exponential backoff and full jitter on the
// answers S3 documents as retryable (503 SlowDown, 429, 500, 502, 504). Every retry is recorded
// so the checks can report it.
#pragma once

#include "credentials.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backup_doctor::s3 {

struct ClientConfig {
  std::string endpoint;  // "https://host[:port]" without a trailing slash
  bool custom_endpoint = false;
  std::string region = "us-east-1";
  bool path_style = false;
  std::optional<Credentials> credentials;  // none: requests go unsigned
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_retries = 3;
  std::chrono::milliseconds retry_base_delay{200};
  std::chrono::milliseconds retry_max_delay{5'000};
  std::string ca_bundle;  // PEM file of extra trusted CAs (private endpoints)
  std::function<bool()> cancelled;
};

struct Request {
  std::string method = "GET";
  std::string bucket;  // empty: the endpoint itself
  std::string key;     // object key, unencoded
  // Query parameters, unencoded. Sent sorted and encoded (the canonical form SigV4 signs).
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;
  bool sign = true;
  std::string service = "s3";
  std::string url;        // full URL instead of endpoint/bucket/key (STS)
  std::string operation;  // "ListObjectsV2", for messages
};

// Seconds since the start of the request at which each phase ended (libcurl's *_TIME_T).
struct Timings {
  double dns = 0, connect = 0, tls = 0, first_byte = 0, total = 0;
};

struct S3Error {
  std::string code, message, request_id;
  std::map<std::string, std::string> fields;  // every other child of <Error>
};

struct Response {
  int curl_code = 0;  // CURLcode
  std::string curl_error;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;
  Timings timings;
  std::string primary_ip;
  long primary_port = 0;
  std::string url;
  S3Error error;  // filled for non-2xx answers
  int attempts = 1;

  bool transport_ok() const { return curl_code == 0; }
  bool ok() const { return curl_code == 0 && status >= 200 && status < 300; }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  // "HTTP 403 AccessDenied: Access Denied" or "Timeout was reached (...)".
  std::string describe() const;
};

struct RetryEvent {
  std::string operation;
  int attempt = 0;  // the attempt that failed (1 = first)
  long status = 0;
  std::string code;
  long delay_ms = 0;
};

class Client {
 public:
  explicit Client(ClientConfig config);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends with retries. Never throws for HTTP or transport failures: look at the Response.
  Response send(const Request& request);

  std::string url_for(const std::string& bucket, const std::string& key,
                      const std::vector<std::pair<std::string, std::string>>& query) const;
  const ClientConfig& config() const { return config_; }
  const std::vector<RetryEvent>& retries() const { return retries_; }
  // {"count": n, "events": [...]} for a check's details.
  nlohmann::json retry_details() const;
  // Secrets this client knows, for scrubbing anything that goes out.
  std::vector<std::string> secrets() const;

 private:
  Response perform(const Request& request, const std::string& url);
  ClientConfig config_;
  void* curl_ = nullptr;  // one handle reused, so connections are kept alive
  std::vector<RetryEvent> retries_;
};

// Fills `error` from an S3 or STS error document (<Error> or <ErrorResponse><Error>).
S3Error parse_error(const std::string& body);

// Classic SigV4 canonical query string: sorted by key, keys and values encoded.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> query);

}  // namespace backup_doctor::s3
