#include "init/schedule.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::init;
using std::chrono::hours;
using std::chrono::minutes;

TEST_CASE("cron: the longest gap between runs") {
  CHECK(cron_schedule("0 2 * * *").longest_gap == hours(24));
  CHECK(cron_schedule("@daily").longest_gap == hours(24));
  CHECK(cron_schedule("*/15 * * * *").longest_gap == minutes(15));
  CHECK(cron_schedule("15 */6 * * *").longest_gap == hours(6));
  CHECK(cron_schedule("30 1 * * 1-5").longest_gap == hours(72));  // Friday to Monday
  CHECK(cron_schedule("0 3 * * sun").longest_gap == hours(24 * 7));
  CHECK(cron_schedule("0 3 * * 7").longest_gap == hours(24 * 7));
  CHECK(cron_schedule("0 4 1 * *").longest_gap == hours(24 * 31));
  CHECK(cron_schedule("0 0,12 * * *").longest_gap == hours(12));
  // Day of month and weekday both restricted: either matches (cron's rule).
  CHECK(cron_schedule("0 0 1 * mon").longest_gap <= hours(24 * 7));
}

TEST_CASE("cron: what is not a schedule says so") {
  CHECK_FALSE(cron_schedule("@reboot").longest_gap);
  CHECK(cron_schedule("@reboot").problem.find("starts") != std::string::npos);
  CHECK_FALSE(cron_schedule("61 * * * *").longest_gap);
  CHECK_FALSE(cron_schedule("0 2 * *").longest_gap);
  CHECK_FALSE(cron_schedule("0 0 30 2 *").longest_gap);  // never runs
}

TEST_CASE("systemd calendar events") {
  CHECK(calendar_schedule("daily").longest_gap == hours(24));
  CHECK(calendar_schedule("*-*-* 04:30:00").longest_gap == hours(24));
  CHECK(calendar_schedule("weekly").longest_gap == hours(24 * 7));
  CHECK(calendar_schedule("Mon..Fri *-*-* 02:00").longest_gap == hours(72));
  CHECK(calendar_schedule("*-*-* *:0/15").longest_gap == minutes(15));
  CHECK(calendar_schedule("hourly").longest_gap == hours(1));
  CHECK(calendar_schedule("Sat,Sun 03:00 UTC").longest_gap == hours(24 * 6));
  CHECK_FALSE(calendar_schedule("2027-01-01 00:00").longest_gap);
  CHECK_FALSE(calendar_schedule("every now and then").longest_gap);
}

TEST_CASE("freshness limits from the gap") {
  CHECK(freshness_limit(hours(24)) == "25h");
  CHECK(freshness_limit(hours(24 * 7)) == "7d7h");
  CHECK(freshness_limit(minutes(15)) == "1h15m");
  CHECK(freshness_limit(hours(72)) == "3d3h");
  CHECK(duration_text(hours(47)) == "47h");
}
