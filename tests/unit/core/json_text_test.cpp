#include "json_text.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

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

TEST_CASE("a document nested too deep is refused at the place it happens, without recursion") {
  std::string deep = "{\"a\": \n";
  for (int i = 0; i < 100000; ++i) deep += "[";
  auto out = parse_json_text(deep, "deep.json");
  CHECK_FALSE(out.value);
  CHECK(out.error.rfind("deep.json:2:64: invalid JSON: nested deeper than 64 levels", 0) == 0);
  // Brackets inside strings do not count.
  auto strings = parse_json_text("{\"a\": \"" + std::string(1000, '[') + "\"}", "s.json");
  CHECK(strings.value);
}

TEST_CASE("a FIFO where a checklist should be is an error, not a hang") {
  test::TempDir dir;
  auto fifo = dir / "checklist.json";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::string error;
  CHECK_FALSE(read_text_file(fifo, error));
  CHECK(error.find("it is a FIFO (named pipe), not a regular file") != std::string::npos);
}

TEST_CASE("a number too large for a double is a positioned error, not an internal one") {
  auto out = parse_json_text("{\n  \"checks\": [{\"timeout_ms\": 1e999}]\n}", "big.json");
  CHECK_FALSE(out.value);
  CHECK(out.error.rfind("big.json:2:29: invalid JSON: the number 1e999 is out of range", 0) == 0);
}
