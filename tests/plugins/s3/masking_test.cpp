#include "masking.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::s3;

TEST_CASE("s3 masking: scrubbing removes secrets everywhere, also inside JSON") {
  std::vector<std::string> secrets = {"wJalrXUtnFEMI/K7MDENG"};
  CHECK(scrub("key=wJalrXUtnFEMI/K7MDENG;", secrets) == "key=***;");
  auto j = scrub_json({{"a", {"x wJalrXUtnFEMI/K7MDENG"}}, {"wJalrXUtnFEMI/K7MDENG", 1}}, secrets);
  CHECK(j.dump().find("wJalr") == std::string::npos);
  CHECK(scrub("abc", {"ab"}) == "abc");  // too short to be a key: left alone
  CHECK(mask_key_id("AKIAIOSFODNN7EXAMPLE") == "****************MPLE");
}
