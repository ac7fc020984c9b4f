// `backup-doctor serve`: runs a checklist on a schedule and serves the last results over HTTP
// for Prometheus (/metrics), load balancers and probes (/healthz) and people (/report.json).
#pragma once

#include "command_setup.hpp"

#include <string>

namespace backup_doctor::serve {

struct ServeOptions {
  std::string listen = "127.0.0.1:9847";
  std::string interval = "15m";
  std::string web_config;  // exporter-toolkit web config file: TLS, basic auth
};

// Runs until SIGTERM or SIGINT; SIGHUP reloads the checklist (kept as it was when the new one is
// not valid). Exit code 0 after a clean stop, 3 when it could not start.
int command_serve(const GlobalOptions& g, const RunOptions& o, const ServeOptions& s,
                  Scrubber& scrubber);

}  // namespace backup_doctor::serve
