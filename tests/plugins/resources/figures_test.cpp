// Numbers in the resources checks' messages. (Sizes are parsed by the SDK: tests/unit/sdk/
// size_test.cpp; several findings become one result through sdk::Findings: findings_test.cpp.)
#include "figures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::resources;

TEST_CASE("human_size and fixed1 format for messages") {
  CHECK(human_size(812) == "812 B");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(10.0 * 1024 * 1024 * 1024) == "10 GiB");
  CHECK(human_size(-5.0) == "0 B");  // a negative difference is never shown as a huge size
  CHECK(fixed1(12.345) == "12.3");
}
