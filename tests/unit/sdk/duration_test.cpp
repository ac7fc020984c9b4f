#include <backup_doctor/duration.hpp>

#include <doctest/doctest.h>
#include <regex>

using namespace backup_doctor;
using namespace std::chrono_literals;

TEST_CASE("durations as people write them") {
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("25h") == 25h);
  CHECK(parse_duration("7d") == 168h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("1.5h") == 90min);
  CHECK(parse_duration("2w") == 336h);
}

TEST_CASE("ambiguous or malformed durations are rejected") {
  for (const char* bad : {"", "30", "h", "5x", "30m1h", "1h1h", "-5s", "5 s",
                          "9999999999999999999999w", "9223372036854775808ms"})
    CHECK_MESSAGE(!parse_duration(bad), bad);
}

TEST_CASE("durations print with their two largest units") {
  CHECK(format_duration(90min) == "1h 30m");
  CHECK(format_duration(std::chrono::milliseconds(259'200'000 + 3'600'000 + 5000)) == "3d 1h");
  CHECK(format_duration(850ms) == "850ms");
  CHECK(format_duration(60s) == "1m");
}

TEST_CASE("the schema pattern accepts what the parser accepts") {
  std::regex pattern(kDurationPattern);
  for (const char* good : {"30s", "25h", "1h30m", "500ms", "7d"})
    CHECK(std::regex_match(good, pattern));
  for (const char* bad : {"30", "5x", "30m1h"}) CHECK_FALSE(std::regex_match(bad, pattern));
}
