// The HTTP side of serve (cpp-httplib): GET /metrics, /healthz, /report.json from the last
// snapshot, with request timeouts and bounded request sizes, so a slow or hostile client holds
// neither a worker nor memory for long.
#pragma once

#include "serve/snapshot.hpp"
#include "serve/web_config.hpp"

#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace backup_doctor::serve {

class HttpEndpoint {
 public:
  // `extra_metrics` is appended to the snapshot's metrics (serve's own counters).
  // With TLS when `web` names a certificate, and basic auth when it names users. Check valid()
  // after construction: a certificate or key that does not load leaves it invalid.
  HttpEndpoint(const SnapshotStore& store, std::function<std::string()> extra_metrics,
               const WebConfig& web = {});
  bool valid() const;
  ~HttpEndpoint();

  // Binds `listen` ("127.0.0.1:9847", "[::1]:9847", port 0 for any free one); false with a
  // message for people in `error` when it cannot.
  bool bind(const std::string& listen, std::string& error);
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  void serve();  // blocks until stop()
  void stop();

 private:
  void routes();
  const SnapshotStore& store_;
  std::function<std::string()> extra_metrics_;
  WebConfig web_;
  std::unique_ptr<httplib::Server> server_;
  std::string host_;
  int port_ = 0;
};

// "ADDR:PORT" -> host and port; false when it is not that shape.
bool split_listen(const std::string& listen, std::string& host, int& port);

}  // namespace backup_doctor::serve
