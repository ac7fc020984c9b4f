// The last results, rendered once per run: every request reads one consistent, finished
// snapshot and never waits for a check (a scrape never starts one).
#pragma once

#include "result.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace backup_doctor::serve {

struct Snapshot {
  std::string metrics;      // Prometheus text exposition
  std::string report_json;  // the JSON report
  bool healthy = false;     // overall ok or warn
  bool have_results = false;
};

// The serving state beside the results: reloads, runs.
struct ServeCounters {
  uint64_t runs = 0;
  bool last_reload_failed = false;
  double last_reload_timestamp = 0;
  double last_run_duration = 0;
};

class SnapshotStore {
 public:
  std::shared_ptr<const Snapshot> current() const;
  void publish(std::shared_ptr<const Snapshot> s);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_ = std::make_shared<Snapshot>();
};

// What serve adds to the run's own metrics: its runs, their duration, the last reload.
std::string serve_metrics(const ServeCounters& c);

}  // namespace backup_doctor::serve
