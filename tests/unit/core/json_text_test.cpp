#include "json_text.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("a syntax error names the file, line and column") {
  auto out = parse_json_text("{\n  \"a\": 1,\n  \"b\": ]\n}", "list.json");
  REQUIRE_FALSE(out.value);
  CHECK(out.error.rfind("list.json:3:", 0) == 0);
  CHECK(out.error.find("invalid JSON") != std::string::npos);
}

TEST_CASE("a missing file is named with the reason") {
  auto out = parse_json_file("/nonexistent/checklist.json");
  REQUIRE_FALSE(out.value);
  CHECK(out.error.find("/nonexistent/checklist.json: cannot read the file: No such file") == 0);
}

TEST_CASE("valid JSON parses") {
  test::TempDir dir;
  auto f = dir.write("a.json", R"({"x": [1, 2]})");
  auto out = parse_json_file(f);
  REQUIRE(out.value);
  CHECK((*out.value)["x"][1] == 2);
}

TEST_CASE("JSON paths read like code") {
  CHECK(json_path({"checks", "3", "with", "path"}) == "checks[3].with.path");
  CHECK(json_path({}).empty());
}
