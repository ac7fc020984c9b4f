#include "json_text.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace backup_doctor;

TEST_CASE("a syntax error names the file, line and column") {
  auto out = parse_json_text("{\n  \"a\": 1,\n  \"b\": ]\n}", "list.json");
  REQUIRE_FALSE(out.value);
  CHECK(out.errors.at(0).rfind("list.json:3:", 0) == 0);
  CHECK(out.errors.at(0).find("invalid JSON") != std::string::npos);
}

TEST_CASE("a missing file is named with the reason") {
  auto out = parse_json_file("/nonexistent/checklist.json");
  REQUIRE_FALSE(out.value);
  CHECK(out.errors.at(0).find("/nonexistent/checklist.json: cannot read the file: No such file") ==
        0);
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
  CHECK(out.errors.at(0).rfind("deep.json:2:64: invalid JSON: nested deeper than 64 levels", 0) ==
        0);
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
  CHECK(out.errors.at(0).rfind("big.json:2:29: invalid JSON: the number 1e999 is out of range",
                               0) == 0);
}

TEST_CASE("duplicate keys are refused at the second one, naming the first") {
  auto out = parse_json_text(
      "{\n  \"name\": \"a\",\n  \"checks\": [{\"id\": \"x\", \"id\": \"y\"}],\n"
      "  \"name\": \"b\"\n}",
      "dup.json");
  CHECK_FALSE(out.value);
  REQUIRE(out.errors.size() == 2);
  CHECK(out.errors[0] ==
        "dup.json:3:26: duplicate key 'id' in checks[0] (first at 3:15); JSON keeps only one of "
        "them, so the other would be silently ignored: remove or merge one");
  CHECK(out.errors[1].rfind("dup.json:4:3: duplicate key 'name' (first at 2:3)", 0) == 0);
}

TEST_CASE("a string holding a NUL is refused where it is") {
  auto out = parse_json_text("{\"checks\": [{\"with\": {\"path\": \"/backups\\u0000/etc\"}}]}",
                             "nul.json");
  CHECK_FALSE(out.value);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0] ==
        "nul.json:1:31: checks[0].with.path: the string holds a NUL character (\\u0000), which "
        "no path, name or value can contain (a path would silently end there): remove it");
}

TEST_CASE("the source map gives the line and column of every value") {
  auto out = parse_json_text("{\n  \"a\": [1,  {\"b\": true}],\n  \"c\": -2.5e3\n}", "m.json");
  REQUIRE(out.value);
  CHECK(out.source.line_col({}) == "1:1");
  CHECK(out.source.line_col({"a"}) == "2:8");
  CHECK(out.source.line_col({"a", "0"}) == "2:9");
  CHECK(out.source.line_col({"a", "1"}) == "2:13");
  CHECK(out.source.line_col({"a", "1", "b"}) == "2:19");
  CHECK(out.source.line_col({"c"}) == "3:8");
  // A path that is not in the document resolves to the nearest enclosing value.
  CHECK(out.source.line_col({"a", "1", "missing"}) == "2:13");
}

TEST_CASE(
    "thousands of duplicate keys give the first twenty and a count; columns count characters") {
  std::string text = "{\"a\": 1";
  for (int i = 0; i < 5000; ++i) text += ", \"a\": 1";
  auto out = parse_json_text(text + "}", "many.json");
  REQUIRE(out.errors.size() == 21);
  CHECK(out.errors[20] ==
        "many.json: and 4980 more problems like these; fix the ones above and validate again");
  auto utf8 = parse_json_text("{\"é\": 1, \"é\": 2}", "u.json");
  REQUIRE(utf8.errors.size() == 1);
  CHECK(utf8.errors[0].rfind("u.json:1:10: duplicate key 'é' (first at 1:2)", 0) == 0);
}
