// Secret masking for plugins (the core's Scrubber uses the same code with its own mask).
#include <backup_doctor/scrub.hpp>

#include <doctest/doctest.h>

using backup_doctor::sdk::scrub;
using backup_doctor::sdk::scrub_json;

TEST_CASE("scrub masks every occurrence, longest secret first") {
  CHECK(scrub("x pw1 y pw1", {"pw1"}) == "x *** y ***");
  CHECK(scrub("nothing", {"pw1"}) == "nothing");
  CHECK(scrub("abcabc", {"abc", "abcabc"}) == "***");  // not "******"
  CHECK(scrub("aaaa", {"aa"}) == "******");  // each occurrence once; the mask is not rescanned
  CHECK(scrub("p=s3cr3t", {"s3cr3t"}, "[REDACTED]") == "p=[REDACTED]");
  CHECK(scrub("text", {""}) == "text");  // an empty secret masks nothing
}

TEST_CASE("scrub_json masks strings at any depth, keys included, and leaves the rest") {
  nlohmann::json in = {{"msg", "password=hunter22"},
                       {"list", {"a", "hunter22!", 3}},
                       {"hunter22", true},
                       {"n", 1.5}};
  auto out = scrub_json(in, {"hunter22"});
  CHECK(out["msg"] == "password=***");
  CHECK(out["list"][1] == "***!");
  CHECK(out["list"][2] == 3);
  CHECK(out.contains("***"));
  CHECK(out["n"] == 1.5);
  CHECK(out.dump().find("hunter22") == std::string::npos);
}
