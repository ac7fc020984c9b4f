// Parameter schema building blocks: written once in the SDK, the same in every check.
#include <backup_doctor/schema.hpp>

#include <doctest/doctest.h>
#include <regex>

using namespace backup_doctor;
using nlohmann::json;

TEST_CASE("bd:duration and bd:size blocks expand, keys beside $ref win") {
  json s = sdk::parse_schema(R"({"type": "object", "properties": {
      "max_age": {"$ref": "bd:duration", "default": "25h", "description": "oldest"},
      "min_size": {"$ref": "bd:size", "description": "smallest"},
      "list": {"type": "array", "items": {"$ref": "bd:duration"}}}})");
  const json& age = s["properties"]["max_age"];
  CHECK(age["type"] == "string");
  CHECK(age["pattern"] == sdk::kDurationPattern);
  CHECK(age["minLength"] == 1);
  CHECK(age["default"] == "25h");
  CHECK(age["description"] == "oldest");
  CHECK_FALSE(age.contains("$ref"));
  CHECK(s["properties"]["min_size"]["anyOf"].size() == 2);
  CHECK(s["properties"]["min_size"]["description"] == "smallest");
  CHECK(s["properties"]["list"]["items"]["pattern"] == sdk::kDurationPattern);
  // The same block built in code.
  CHECK(sdk::duration_schema("oldest", "25h") == age);
}

TEST_CASE("bd:target_path and bd:target_pattern name a file or the newest match in a directory") {
  json s = sdk::parse_schema(R"({"type": "object", "properties": {
      "path": {"$ref": "bd:target_path"},
      "pattern": {"$ref": "bd:target_pattern", "default": "*.dump"}}})");
  const json& path = s["properties"]["path"];
  CHECK(path == sdk::target_path_schema());
  CHECK(path["minLength"] == 1);
  CHECK(path["description"].get<std::string>().find("newest") != std::string::npos);
  const json& pattern = s["properties"]["pattern"];
  CHECK(pattern["type"] == "string");
  CHECK(pattern["default"] == "*.dump");  // the check's own default wins
  CHECK(sdk::target_pattern_schema()["default"] == "*");
}

TEST_CASE("the 1.0 @duration@ marker still expands; an unknown block is a plugin bug") {
  json s =
      sdk::parse_schema(R"({"properties": {"t": {"type": "string", "pattern": "@duration@"}}})");
  CHECK(s["properties"]["t"]["pattern"] == sdk::kDurationPattern);
  CHECK_THROWS_AS(sdk::parse_schema(R"({"properties": {"t": {"$ref": "bd:parsecs"}}})"),
                  std::invalid_argument);
  // Other $refs are JSON Schema's own and left alone.
  json local = sdk::parse_schema(R"({"properties": {"t": {"$ref": "#/definitions/x"}}})");
  CHECK(local["properties"]["t"]["$ref"] == "#/definitions/x");
}

TEST_CASE("the size block's pattern accepts what parse_size reads") {
  std::string pattern = sdk::kSizePattern;
  std::regex re(pattern);
  for (const char* ok : {"1", "8MiB", "16MB", "10 GiB", "1.5K", "500m"}) {
    CAPTURE(ok);
    CHECK(std::regex_match(ok, re));
    CHECK(sdk::parse_size(ok).has_value());
  }
  for (const char* bad : {"", "lots", "10X", "-1"}) {
    CAPTURE(bad);
    CHECK_FALSE(std::regex_match(bad, re));
  }
}
