#include "serve/snapshot.hpp"

#include <cstdio>

namespace backup_doctor::serve {

std::shared_ptr<const Snapshot> SnapshotStore::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void SnapshotStore::publish(std::shared_ptr<const Snapshot> s) {
  std::lock_guard lock(mutex_);
  current_ = std::move(s);
}

std::string serve_metrics(const ServeCounters& c) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "# HELP backup_doctor_serve_runs_total Checklist runs since serve started.\n"
                "# TYPE backup_doctor_serve_runs_total counter\n"
                "backup_doctor_serve_runs_total %llu\n"
                "# HELP backup_doctor_serve_run_duration_seconds How long the last run took.\n"
                "# TYPE backup_doctor_serve_run_duration_seconds gauge\n"
                "backup_doctor_serve_run_duration_seconds %.3f\n"
                "# HELP backup_doctor_checklist_reload_failed 1 when the last reload (SIGHUP) "
                "found the checklist invalid and the previous one is still used.\n"
                "# TYPE backup_doctor_checklist_reload_failed gauge\n"
                "backup_doctor_checklist_reload_failed %d\n",
                static_cast<unsigned long long>(c.runs), c.last_run_duration,
                c.last_reload_failed ? 1 : 0);
  return buf;
}

}  // namespace backup_doctor::serve
