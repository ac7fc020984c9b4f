#include "serve/http_endpoint.hpp"

#include <httplib.h>

namespace backup_doctor::serve {

bool split_listen(const std::string& listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string p = listen.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  port = std::stoi(p);
  return port <= 65535;
}

HttpEndpoint::HttpEndpoint(const SnapshotStore& store, std::function<std::string()> extra_metrics,
                           const WebConfig& web)
    : store_(store), extra_metrics_(std::move(extra_metrics)), web_(web) {
  if (web_.cert_file.empty())
    server_ = std::make_unique<httplib::Server>();
  else
    server_ = std::make_unique<httplib::SSLServer>(web_.cert_file.c_str(), web_.key_file.c_str());

  // A client gets 5 s to send its request and to take the answer; requests carry no body.
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_idle_interval(0, 100000);
  server_->set_keep_alive_max_count(20);
  server_->set_keep_alive_timeout(5);
  server_->set_payload_max_length(8 * 1024);
  // A worker stays with a keep-alive connection until it closes or idles out (5 s): enough
  // workers that 50 concurrent scrapers each get one (httplib's default is 8 on 2 cores).
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second serve on the
  // same port would start and silently share the scrapes.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  routes();
}

HttpEndpoint::~HttpEndpoint() = default;

bool HttpEndpoint::valid() const {
  return server_->is_valid();
}

void HttpEndpoint::routes() {
  // Basic auth before any route, as exporter-toolkit does: 401 with a challenge.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (authorized(web_, req.get_header_value("Authorization")))
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"backup-doctor\"");
    res.set_content("unauthorized\n", "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto s = store_.current();
    res.set_content(s->metrics + extra_metrics_(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto s = store_.current();
    res.status = s->have_results && s->healthy ? 200 : 503;
    res.set_content(!s->have_results ? "starting: no results yet\n"
                    : s->healthy     ? "ok\n"
                                     : "failing\n",
                    "text/plain; charset=utf-8");
  });
  server_->Get("/report.json", [this](const httplib::Request&, httplib::Response& res) {
    auto s = store_.current();
    if (!s->have_results) {
      res.status = 503;
      res.set_content("{\"error\": \"no results yet\"}\n", "application/json");
      return;
    }
    res.set_content(s->report_json, "application/json");
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("backup-doctor serve: /metrics /healthz /report.json\n",
                    "text/plain; charset=utf-8");
  });
}

bool HttpEndpoint::bind(const std::string& listen, std::string& error) {
  if (!split_listen(listen, host_, port_)) {
    error = "--listen " + listen + ": expected ADDRESS:PORT, e.g. 127.0.0.1:9847 or [::1]:9847";
    return false;
  }
  if (port_ == 0) {
    port_ = server_->bind_to_any_port(host_.c_str());
    if (port_ > 0) return true;
  } else if (server_->bind_to_port(host_.c_str(), port_)) {
    return true;
  }
  error = "--listen " + listen + ": cannot listen there (in use, or not an address of this host)";
  return false;
}

void HttpEndpoint::serve() {
  server_->listen_after_bind();
}

void HttpEndpoint::stop() {
  server_->stop();
}

}  // namespace backup_doctor::serve
