// A job the host runs on a schedule, as its crontab line or systemd timer says, before anything
// of what it runs has been read.
#pragma once

#include "init/schedule.hpp"

#include <map>
#include <string>
#include <vector>

namespace backup_doctor::init {

struct ScheduledJob {
  std::string source;  // the crontab or the .timer file
  int line = 0;        // of the crontab entry (or ExecStart= in the service)
  std::string via;     // "" for a crontab; the .service file for a timer
  Schedule schedule;
  std::string user = "root";
  std::string command;  // shell text (ExecStart= is read with the same word rules)
  std::map<std::string, std::string> environment;  // crontab NAME=value, Environment=
  std::string working_directory;
  std::string name_hint;  // the unit's or run-parts file's name, for naming the job
};

struct JobNote {
  std::string where;  // "file:line"
  std::string message;
};

// More scheduled jobs than any host has: a crontab of a hundred thousand lines (each entry a
// copy of the environment lines above it) must not exhaust init.
constexpr size_t kMaxJobs = 1000;

struct JobSources {
  std::vector<ScheduledJob> jobs;
  std::vector<JobNote> notes;
};

class HostFiles;

// /etc/crontab, /etc/cron.d/*, the run-parts directories /etc/cron.{hourly,daily,weekly,monthly}
// and the users' crontabs (/var/spool/cron/crontabs, /var/spool/cron).
void read_cron_jobs(const HostFiles& host, JobSources& out);

// Timers under /etc/systemd/system, /usr/lib/systemd/system and /lib/systemd/system, and the
// services they start.
void read_systemd_jobs(const HostFiles& host, JobSources& out);

}  // namespace backup_doctor::init
