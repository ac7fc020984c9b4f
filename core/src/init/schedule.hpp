// When a job runs, from its cron expression or systemd OnCalendar=, reduced to the one figure a
// freshness check needs: the longest time between two runs (a job at 02:00 on weekdays has a
// 3-day gap over the weekend, so its backup may be 3 days old on Monday morning).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace backup_doctor::init {

struct Schedule {
  std::string text;                                 // as written: "0 2 * * *", "daily"
  std::optional<std::chrono::minutes> longest_gap;  // unset when not understood
  std::string problem;                              // why not, for the operator
};

// A crontab's five fields, or @hourly/@daily/@weekly/@monthly/@yearly/@annually/@reboot.
Schedule cron_schedule(const std::string& expression);

// A systemd calendar event (OnCalendar=): the shorthands (daily, weekly, ...) and the
// `[weekdays] [year-month-day] [hour:minute[:second]]` form with *, lists, ranges and /steps.
Schedule calendar_schedule(const std::string& expression);

// A fixed period (run-parts' cron.daily, OnUnitActiveSec=).
Schedule periodic_schedule(const std::string& text, std::chrono::minutes period);

// The freshness limit for a backup written on this schedule: the longest gap plus an hour's
// slack for the run itself (a twenty-fourth of the gap for longer periods): daily -> "25h",
// weekly -> "7d7h", every 15 minutes -> "1h15m".
std::string freshness_limit(std::chrono::minutes longest_gap);

// A duration in the checklist's syntax, largest units first ("25h" under two days, "7d7h").
std::string duration_text(std::chrono::minutes d);

}  // namespace backup_doctor::init
