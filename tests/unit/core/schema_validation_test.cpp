#include "schema_validation.hpp"

#include <doctest/doctest.h>
#include <set>

using namespace backup_doctor;

static const nlohmann::json kSchema = nlohmann::json::parse(R"({
  "type": "object", "additionalProperties": false, "required": ["path"],
  "properties": {
    "path": {"type": "string", "description": "Where"},
    "max_age": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
    "count": {"type": "integer", "minimum": 1}
  }})");

TEST_CASE("a valid document has no problems") {
  CompiledSchema s(kSchema);
  CHECK(s.validate({{"path", "/x"}, {"count", 3}}).empty());
}

TEST_CASE("a misspelled key is named with the nearest allowed key") {
  CompiledSchema s(kSchema);
  auto problems = s.validate({{"path", "/x"}, {"max_agee", "1h"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path == std::vector<std::string>{"max_agee"});
  CHECK(problems[0].message.find("unknown key 'max_agee' (did you mean 'max_age'?)") == 0);
  CHECK(problems[0].message.find("allowed here: count, max_age, path") != std::string::npos);
}

TEST_CASE("type, range and pattern problems name the field") {
  CompiledSchema s(kSchema);
  auto problems = s.validate({{"path", 5}, {"count", 0}, {"max_age", "soon"}});
  REQUIRE(problems.size() == 3);
  std::set<std::string> fields;
  for (const auto& p : problems) fields.insert(p.path.at(0));
  CHECK(fields == std::set<std::string>{"path", "count", "max_age"});
}

TEST_CASE("a missing required key is reported") {
  CompiledSchema s(kSchema);
  auto problems = s.validate(nlohmann::json::object());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("path") != std::string::npos);
}
