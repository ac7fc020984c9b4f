#include "scrubber.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("every occurrence of every secret is masked") {
  Scrubber s;
  s.add("hunter2");
  s.add("s3cr3t-key\n");  // from a file: the trailing newline is not part of the secret
  CHECK(s.scrub("password=hunter2 key=s3cr3t-key again hunter2") ==
        "password=[REDACTED] key=[REDACTED] again [REDACTED]");
  CHECK(s.scrub("nothing here") == "nothing here");
}

TEST_CASE("a secret containing another is masked whole") {
  Scrubber s;
  s.add("abc");
  s.add("xxabcxx");
  CHECK(s.scrub("[xxabcxx]") == "[[REDACTED]]");
}

TEST_CASE("secrets are masked inside JSON, keys included") {
  Scrubber s;
  s.add("topsecret");
  nlohmann::json doc{
      {"a", "is topsecret"}, {"topsecret", 1}, {"list", {"x", "topsecret"}}, {"n", 5}};
  auto out = s.scrub_json(doc).dump();
  CHECK(out.find("topsecret") == std::string::npos);
  CHECK(out.find("\"n\":5") != std::string::npos);
}

TEST_CASE("empty secrets are ignored") {
  Scrubber s;
  s.add("");
  CHECK(s.empty());
  CHECK(s.scrub("abc") == "abc");
}
