#include "secrets.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::pg;

TEST_CASE("collect_secrets finds every password, nested ones included") {
  auto s = collect_secrets({{"password", "a-secret"},
                            {"user", "u"},
                            {"target", {{"password", "b-secret-longer"}}},
                            {"list", {{{"password", "c"}}}}});
  REQUIRE(s.size() == 3);
  CHECK(s[0] == "b-secret-longer");  // longest first
}
