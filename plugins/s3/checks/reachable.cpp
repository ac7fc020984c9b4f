// s3.reachable: the endpoint can be reached, step by step. DNS resolution, TCP connect, TLS
// handshake and the first byte of an answer are timed separately (libcurl's *_TIME_T), so a
// resolver problem, a firewall dropping packets, a TLS-intercepting proxy and a hanging server
// each get their own finding.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <backup_doctor/duration.hpp>

#include <mutex>

namespace backup_doctor::s3 {

using nlohmann::json;

namespace {

struct Probe {
  CURLcode code = CURLE_OK;
  std::string error;
  long status = 0;
  double dns = 0, connect = 0, tls = 0, first_byte = 0, total = 0;
  std::string ip;
  std::string server;
  std::string cert_subject, cert_issuer, cert_expiry;
};

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;
}

size_t server_header(char* data, size_t size, size_t n, void* arg) {
  std::string line(data, size * n);
  if (line.size() > 7 && strncasecmp(line.c_str(), "server:", 7) == 0) {
    std::string v = line.substr(7);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    *static_cast<std::string*>(arg) = v;
  }
  return size * n;
}

int abort_if_cancelled(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<sdk::Context*>(arg)->cancelled() ? 1 : 0;
}

double secs(CURL* c, CURLINFO info) {
  curl_off_t v = 0;
  curl_easy_getinfo(c, info, &v);
  return static_cast<double>(v) / 1e6;
}

void read_certinfo(CURL* c, Probe& p) {
  struct curl_certinfo* ci = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == nullptr ||
      ci->num_of_certs < 1)
    return;
  for (curl_slist* s = ci->certinfo[0]; s; s = s->next) {
    std::string line = s->data;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    if (name == "Subject")
      p.cert_subject = value;
    else if (name == "Issuer")
      p.cert_issuer = value;
    else if (name == "Expire date")
      p.cert_expiry = value;
  }
}

// One unsigned HEAD with a fresh handle, so every phase is really performed and timed.
Probe run_probe(const std::string& url, const ClientConfig& cfg, sdk::Context& ctx, bool verify) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Probe p;
  CURL* c = curl_easy_init();
  if (!c) throw sdk::CheckError("curl_easy_init failed");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, server_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &p.server);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_if_cancelled);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "backup-doctor-s3/1.0");
  curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  if (!cfg.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg.ca_bundle.c_str());
  if (!verify) {
    // Only to read the certificate that was presented; nothing is sent over this connection.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  }
  p.code = curl_easy_perform(c);
  if (p.code != CURLE_OK) {
    p.error = curl_easy_strerror(p.code);
    if (errbuf[0]) p.error += " (" + std::string(errbuf) + ")";
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p.status);
  p.dns = secs(c, CURLINFO_NAMELOOKUP_TIME_T);
  p.connect = secs(c, CURLINFO_CONNECT_TIME_T);
  p.tls = secs(c, CURLINFO_APPCONNECT_TIME_T);
  p.first_byte = secs(c, CURLINFO_STARTTRANSFER_TIME_T);
  p.total = secs(c, CURLINFO_TOTAL_TIME_T);
  char* ip = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) p.ip = ip;
  read_certinfo(c, p);
  curl_easy_cleanup(c);
  return p;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  std::string h = host;
  if (!h.empty() && h.front() == '[') h = h.substr(1, h.size() - 2);
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string ms(double seconds) {
  char buf[32];
  if (seconds < 1)
    std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1000);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  return buf;
}

const char* kDoc =
    "Sends one unsigned HEAD request to the endpoint (or the bucket's address) on a fresh "
    "connection and reports each network step as its own result: DNS resolution, TCP connect, "
    "TLS handshake and first byte of the answer. Any HTTP answer, even 403, proves the path "
    "works. A failed step is named: a name that does not resolve, a refused or silently "
    "dropped connection (firewall), a certificate that is not trusted (with the issuer that "
    "was presented, which exposes TLS-intercepting proxies), or a server that accepts but "
    "never answers. Metrics: `dns_lookup`, `tcp_connect`, `tls_handshake`, `first_byte` "
    "(seconds, each step's own duration).";

// Where the probe goes: the URL, and its host with and without the port.
struct Address {
  std::string url;
  bool https = false;
  std::string hostport;
  std::string host;
};

Address address_of(const Connection& conn) {
  Address a;
  a.url = conn.client->url_for(conn.bucket, "", {});
  a.https = a.url.rfind("https://", 0) == 0;
  a.hostport = a.url.substr(a.url.find("://") + 3);
  a.hostport = a.hostport.substr(0, a.hostport.find('/'));
  a.host = a.hostport;
  if (!a.host.empty() && a.host.front() == '[')
    a.host = a.host.substr(0, a.host.find(']') + 1);
  else if (auto colon = a.host.rfind(':'); colon != std::string::npos)
    a.host = a.host.substr(0, colon);
  return a;
}

// Each step's own duration, from curl's cumulative times.
struct StepTimes {
  double dns = 0, tcp = 0, tls = 0, first_byte = 0;
};

StepTimes step_times(const Probe& pr, bool https) {
  StepTimes t;
  t.dns = pr.dns;
  t.tcp = pr.connect > 0 ? pr.connect - pr.dns : 0;
  t.tls = https && pr.tls > 0 ? pr.tls - pr.connect : 0;
  double fb_start = https ? pr.tls : pr.connect;
  t.first_byte = pr.first_byte > 0 ? pr.first_byte - fb_start : 0;
  return t;
}

// Which step failed ("" when none): from curl's error code, else from the last step that
// completed.
std::string failed_step(const Probe& pr, const Address& a) {
  if (pr.code == CURLE_COULDNT_RESOLVE_HOST) return "dns";
  if (pr.code == CURLE_COULDNT_CONNECT) return "tcp_connect";
  if (pr.code == CURLE_PEER_FAILED_VERIFICATION || pr.code == CURLE_SSL_CONNECT_ERROR ||
      pr.code == CURLE_SSL_CACERT_BADFILE || pr.code == CURLE_SSL_CERTPROBLEM)
    return "tls_handshake";
  if (pr.code == CURLE_OK) return "";
  if (pr.dns == 0 && !is_ip_literal(a.host)) return "dns";
  if (pr.connect == 0) return "tcp_connect";
  if (a.https && pr.tls == 0) return "tls_handshake";
  return "first_byte";
}

// Adds one step to `steps`; true when it completed.
bool add_step(json& steps, const char* name, double seconds, bool applicable,
              const std::string& failed) {
  json s = {{"step", name}};
  if (!applicable)
    s["status"] = "not_applicable";
  else if (failed == name)
    s["status"] = "failed";
  else if (!failed.empty() &&
           std::string("dns tcp_connect tls_handshake first_byte").find(failed) <
               std::string("dns tcp_connect tls_handshake first_byte").find(name))
    s["status"] = "not_reached";
  else
    s["status"] = "ok";
  if (s["status"] == "ok") s["seconds"] = seconds;
  steps.push_back(s);
  return s["status"] == "ok";
}

// The steps for the details, with a metric for each one that completed.
json report_steps(const StepTimes& t, bool https, const std::string& failed, const json& labels,
                  CheckReport& out) {
  json steps = json::array();
  if (add_step(steps, "dns", t.dns, true, failed))
    out.metric("dns_lookup", t.dns, "seconds", labels);
  if (add_step(steps, "tcp_connect", t.tcp, true, failed))
    out.metric("tcp_connect", t.tcp, "seconds", labels);
  if (add_step(steps, "tls_handshake", t.tls, https, failed) && https)
    out.metric("tls_handshake", t.tls, "seconds", labels);
  if (add_step(steps, "first_byte", t.first_byte, true, failed))
    out.metric("first_byte", t.first_byte, "seconds", labels);
  return steps;
}

json probe_details(const Address& a, const Probe& pr, const json& steps) {
  json details = {{"url", a.url}, {"host", a.host}, {"steps", steps}, {"https", a.https}};
  if (!pr.ip.empty()) details["ip"] = pr.ip;
  if (pr.status) details["http_status"] = pr.status;
  if (!pr.server.empty()) details["server"] = pr.server;
  if (!pr.cert_issuer.empty())
    details["certificate"] = {
        {"subject", pr.cert_subject}, {"issuer", pr.cert_issuer}, {"expires", pr.cert_expiry}};
  if (!pr.error.empty()) details["error"] = pr.error;
  return details;
}

void report_dns_failed(const Address& a, const Probe& pr, const json& details, CheckReport& out) {
  out.report(Status::fail, "cannot resolve " + a.host + ": " + pr.error,
             "The endpoint's name does not resolve on this host, so no upload can start. "
             "Check the spelling of the endpoint, then the resolver: `getent hosts " +
                 a.host +
                 "`, /etc/resolv.conf, and whether this network needs an internal DNS "
                 "server or a proxy to reach " +
                 a.host + ".",
             details);
}

// A timeout is packets dropped (a firewall); anything else is a refusal.
void report_connect_failed(const Address& a, const Probe& pr, const ClientConfig& cfg,
                           const json& details, CheckReport& out) {
  std::string target = (pr.ip.empty() ? a.host : pr.ip) + " (" + a.hostport + ")";
  if (pr.code == CURLE_OPERATION_TIMEDOUT)
    out.report(Status::fail,
               "TCP connect to " + a.hostport + " timed out after " +
                   format_duration(cfg.connect_timeout) + " (packets dropped)",
               "No answer at all to the connection attempt, which is what a firewall or "
               "security group that drops traffic looks like. Allow outbound connections from "
               "this host to " +
                   target +
                   " (check iptables/nftables here, network ACLs and any egress proxy "
                   "requirement).",
               details);
  else
    out.report(Status::fail, "TCP connection to " + a.hostport + " refused: " + pr.error,
               "The address resolves but nothing accepts connections at " + target +
                   ": a wrong port in the endpoint, the storage service down, or a firewall "
                   "rejecting the traffic.",
               details);
}

// An untrusted certificate is fetched again without verification to name its issuer, which
// exposes a TLS-intercepting proxy.
void report_tls_failed(const Address& a, const Probe& pr, const ClientConfig& cfg,
                       sdk::Context& ctx, json& details, CheckReport& out) {
  std::string summary = "TLS handshake with " + a.hostport + " failed: " + pr.error;
  std::string remediation;
  if (pr.code == CURLE_PEER_FAILED_VERIFICATION || pr.code == CURLE_SSL_CACERT_BADFILE) {
    Probe look = run_probe(a.url, cfg, ctx, false);
    if (!look.cert_issuer.empty()) {
      details["certificate"] = {{"subject", look.cert_subject},
                                {"issuer", look.cert_issuer},
                                {"expires", look.cert_expiry}};
      summary = "TLS to " + a.hostport + ": the certificate presented (issuer " + look.cert_issuer +
                ") is not trusted";
    }
    remediation =
        "The certificate presented for " + a.host +
        " does not verify against the trusted CAs. If its issuer is a corporate proxy or "
        "security appliance, traffic is being intercepted: exempt the S3 endpoint from TLS "
        "inspection, or, if the interception is intended, give that CA as `ca_bundle` here and "
        "to the backup job. If the endpoint is a private store, give its CA as `ca_bundle`.";
  } else {
    remediation =
        "The TLS handshake did not complete: a proxy or middlebox speaking another "
        "protocol, an old TLS version, or a hung TLS terminator. Try `openssl "
        "s_client -connect " +
        a.hostport + "` from this host.";
  }
  out.report(Status::fail, summary, remediation, details);
}

void report_no_answer(const Address& a, const ClientConfig& cfg, const json& details,
                      CheckReport& out) {
  out.report(Status::fail,
             a.hostport + " accepted the connection but sent no answer within " +
                 format_duration(cfg.timeout),
             "The network path works but the service behind it hangs: check the storage "
             "service or the load balancer/proxy in front of it, or raise `timeout` if it is "
             "only slow.",
             details);
}

// Every step completed: ok, or a warning on a server error or a slow answer.
void report_answered(const Address& a, const Probe& pr, const StepTimes& t,
                     std::chrono::milliseconds slow, const json& details, CheckReport& out) {
  std::string timing = "DNS " + ms(t.dns) + ", connect " + ms(t.tcp) +
                       (a.https ? ", TLS " + ms(t.tls) : std::string()) + ", first byte " +
                       ms(t.first_byte);
  std::string summary =
      a.hostport + " answers HTTP " + std::to_string(pr.status) + " (" + timing + ")";
  if (pr.status >= 500) {
    out.report(Status::warn, summary,
               "The endpoint is reachable but answers with a server error; check the storage "
               "service's status.",
               details);
    return;
  }
  if (std::chrono::duration<double>(pr.first_byte) > slow) {
    out.report(Status::warn, summary + ", slower than " + format_duration(slow),
               "Each request pays this latency; large backups with many parts will be slow or "
               "time out. Look at the slowest step: DNS (resolver), connect (route, proxy) or "
               "first byte (the service).",
               details);
    return;
  }
  out.report(Status::ok, summary, "", details);
}

void run(const json& params, sdk::Context& ctx) {
  // Only the addressing and timeouts matter here; credentials are neither needed nor read.
  json addressing = params;
  Connection conn = connect(addressing, ctx, false);
  CheckReport out(ctx, conn);
  auto slow = duration_param(params, "slow_threshold", "3s");
  const ClientConfig& cfg = conn.client->config();
  Address a = address_of(conn);

  Probe pr = run_probe(a.url, cfg, ctx, true);
  json labels = {{"endpoint", conn.endpoint_display}};
  StepTimes t = step_times(pr, a.https);
  std::string failed = failed_step(pr, a);
  json steps = report_steps(t, a.https, failed, labels, out);
  json details = probe_details(a, pr, steps);

  if (failed == "dns")
    report_dns_failed(a, pr, details, out);
  else if (failed == "tcp_connect")
    report_connect_failed(a, pr, cfg, details, out);
  else if (failed == "tls_handshake")
    report_tls_failed(a, pr, cfg, ctx, details, out);
  else if (failed == "first_byte")
    report_no_answer(a, cfg, details, out);
  else
    report_answered(a, pr, t, slow, details, out);
}

}  // namespace

sdk::CheckType reachable_check() {
  json all = connection_properties();
  json p;
  for (const char* k :
       {"endpoint", "region", "path_style", "timeout", "connect_timeout", "ca_bundle"})
    p[k] = all[k];
  p["bucket"] = {{"type", "string"},
                 {"minLength", 1},
                 {"description",
                  "Probe the bucket's own address (virtual-hosted buckets have their own DNS "
                  "name). Default: the endpoint itself."}};
  p["slow_threshold"] = sdk::duration_schema(
      "Warn when the whole exchange (DNS to first byte) takes longer than this.", "3s");

  return {
      .type = "s3.reachable",
      .summary = "The S3 endpoint answers: DNS, TCP connect, TLS and first byte timed separately",
      .doc = kDoc,
      .params_schema = make_schema(p, {}),
      .run = &run};
}

}  // namespace backup_doctor::s3
