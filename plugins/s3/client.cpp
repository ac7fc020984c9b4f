#include "client.hpp"

#include "wire_format.hpp"
#include "xml.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

namespace backup_doctor::s3 {

namespace {

constexpr size_t kMaxBody = 16 * 1024 * 1024;

struct Transfer {
  Response* response;
  const ClientConfig* config;
};

size_t on_body(char* data, size_t size, size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  size_t len = size * n;
  if (t->response->body.size() + len <= kMaxBody) t->response->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  size_t len = size * n;
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after 100 Continue)
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t v = colon + 1;
  while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
  t->response->headers[name] = line.substr(v);
  return len;
}

int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(arg);
  return (t->config->cancelled && t->config->cancelled()) ? 1 : 0;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

bool retryable(const Response& r) {
  if (!r.transport_ok()) return false;
  return r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 ||
         r.status == 504;
}

std::string synthesize_code(long status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 307:
      return "TemporaryRedirect";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "HTTP" + std::to_string(status);
  }
}

double seconds(CURL* curl, CURLINFO info) {
  curl_off_t v = 0;
  curl_easy_getinfo(curl, info, &v);
  return static_cast<double>(v) / 1e6;
}

}  // namespace

std::string Response::describe() const {
  if (!transport_ok()) return curl_error.empty() ? "transport error" : curl_error;
  std::string out = "HTTP " + std::to_string(status);
  if (!error.code.empty()) out += " " + error.code;
  if (!error.message.empty()) out += ": " + error.message;
  return out;
}

S3Error parse_error(const std::string& body) {
  S3Error e;
  auto doc = XmlDocument::parse(body);
  if (!doc) return e;
  XmlNode root = doc->root();
  std::optional<XmlNode> error;
  if (root.name() == "Error")
    error = root;
  else
    error = root.find("Error");
  if (!error) return e;
  e.code = error->child_text("Code");
  e.message = error->child_text("Message");
  e.request_id = error->child_text("RequestId", root.child_text("RequestId"));
  for (const char* field :
       {"BucketName", "Key", "ServerTime", "RequestTime", "MaxAllowedSkewMilliseconds", "Region",
        "Endpoint", "Bucket", "AWSAccessKeyId", "Type"}) {
    if (auto c = error->child(field)) e.fields[field] = c->text();
  }
  return e;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> query) {
  for (auto& [k, v] : query) {
    k = uri_encode(k, false);
    v = uri_encode(v, false);
  }
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [k, v] : query) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

Client::Client(ClientConfig config) : config_(std::move(config)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

Client::~Client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::vector<std::string> Client::secrets() const {
  std::vector<std::string> out;
  if (config_.credentials) {
    out.push_back(config_.credentials->secret_access_key);
    if (!config_.credentials->session_token.empty())
      out.push_back(config_.credentials->session_token);
  }
  return out;
}

std::string Client::url_for(const std::string& bucket, const std::string& key,
                            const std::vector<std::pair<std::string, std::string>>& query) const {
  std::string url;
  std::string path = key.empty() ? "/" : "/" + uri_encode(key, true);
  if (bucket.empty()) {
    url = config_.endpoint + "/";
  } else if (config_.path_style) {
    url = config_.endpoint + "/" + uri_encode(bucket, false) + path;
  } else {
    auto scheme_end = config_.endpoint.find("://");
    size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    url = config_.endpoint.substr(0, host_start) + bucket + "." +
          config_.endpoint.substr(host_start) + path;
  }
  if (!query.empty()) url += "?" + canonical_query(query);
  return url;
}

Response Client::send(const Request& request) {
  std::string url =
      request.url.empty() ? url_for(request.bucket, request.key, request.query) : request.url;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    Response r = perform(request, url);
    r.attempts = attempt;
    if (!retryable(r) || attempt > config_.max_retries) return r;
    if (config_.cancelled && config_.cancelled()) return r;
    // Full jitter: a random delay up to an exponentially growing cap.
    long cap = std::min<long>(config_.retry_max_delay.count(), config_.retry_base_delay.count()
                                                                   << std::min(attempt - 1, 20));
    long delay = std::uniform_int_distribution<long>(0, std::max<long>(cap, 0))(rng);
    if (auto ra = r.header("retry-after"); !ra.empty()) {
      try {
        long server_ms = std::stol(ra) * 1000;
        delay = std::min<long>(std::max(delay, server_ms), config_.retry_max_delay.count());
      } catch (...) {
      }
    }
    retries_.push_back({request.operation, attempt, r.status, r.error.code, delay});
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
    while (std::chrono::steady_clock::now() < until) {
      if (config_.cancelled && config_.cancelled()) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long>(delay, 20)));
    }
  }
}

Response Client::perform(const Request& request, const std::string& url) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  Response r;
  r.url = url;
  Transfer transfer{&r, &config_};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "backup-doctor-s3/1.0");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (!config_.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_bundle.c_str());

  struct curl_slist* headers = nullptr;
  auto add_header = [&](const std::string& h) { headers = curl_slist_append(headers, h.c_str()); };
  // No "Expect:" override here: libcurl 7.88 signs an emptied header it then does not send,
  // which breaks the signature. Our bodies are far below the size where curl expects 100.

  const bool has_body = request.method == "PUT" || request.method == "POST";
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    // Without an explicit type libcurl says "form data", which some servers then parse.
    add_header("Content-Type: " + (request.content_type.empty()
                                       ? std::string("application/octet-stream")
                                       : request.content_type));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  std::string sigv4;
  if (request.sign && config_.credentials) {
    sigv4 = "aws:amz:" + config_.region + ":" + request.service;
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_.credentials->access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.credentials->secret_access_key.c_str());
    // S3 wants the payload hash as a header; libcurl signs every header we add, and uses
    // this one's value as the payload hash of the canonical request.
    if (request.service == "s3") add_header("x-amz-content-sha256: " + sha256_hex(request.body));
    if (!config_.credentials->session_token.empty())
      add_header("x-amz-security-token: " + config_.credentials->session_token);
  }
  for (const auto& [name, value] : request.headers) add_header(name + ": " + value);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  // The password stays in the reused handle otherwise; curl_easy_reset clears it too, but be
  // explicit about not keeping the secret around longer than the request.
  curl_easy_setopt(curl, CURLOPT_PASSWORD, "");

  r.curl_code = rc;
  if (rc != CURLE_OK) {
    r.curl_error = std::string(curl_easy_strerror(rc));
    if (errbuf[0] != '\0') r.curl_error += " (" + std::string(errbuf) + ")";
    if (rc == CURLE_ABORTED_BY_CALLBACK) r.curl_error = "cancelled";
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  r.timings.dns = seconds(curl, CURLINFO_NAMELOOKUP_TIME_T);
  r.timings.connect = seconds(curl, CURLINFO_CONNECT_TIME_T);
  r.timings.tls = seconds(curl, CURLINFO_APPCONNECT_TIME_T);
  r.timings.first_byte = seconds(curl, CURLINFO_STARTTRANSFER_TIME_T);
  r.timings.total = seconds(curl, CURLINFO_TOTAL_TIME_T);
  char* ip = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) r.primary_ip = ip;
  curl_easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &r.primary_port);

  if (rc == CURLE_OK && (r.status < 200 || r.status >= 300)) {
    r.error = parse_error(r.body);
    if (r.error.code.empty()) r.error.code = synthesize_code(r.status);
  }
  return r;
}

nlohmann::json Client::retry_details() const {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : retries_)
    events.push_back({{"operation", e.operation},
                      {"attempt", e.attempt},
                      {"http_status", e.status},
                      {"code", e.code},
                      {"delay_ms", e.delay_ms}});
  return {{"count", retries_.size()}, {"events", events}};
}

}  // namespace backup_doctor::s3
