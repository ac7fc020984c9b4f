// Parameter access for checks: defaults, the accepted shapes, and a CheckError naming the
// parameter for everything else (never a nlohmann exception).
#include <backup_doctor/params.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdk::CheckError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("absent and null parameters take the default") {
  json p = {{"nothing", nullptr}};
  CHECK(sdk::string_param(p, "x", "dflt") == "dflt");
  CHECK(sdk::string_param(p, "nothing", "dflt") == "dflt");
  CHECK(sdk::bool_param(p, "x", true));
  CHECK(sdk::number_param(p, "x", 1.5) == 1.5);
  CHECK_FALSE(sdk::optional_number(p, "nothing"));
  CHECK(sdk::count_param(p, "x", 7) == 7);
  CHECK(sdk::duration_param(p, "x", "1h30m") == 90min);
  CHECK_FALSE(sdk::optional_duration(p, "x"));
  CHECK(sdk::string_list(p, "x", {"a", "b"}) == std::vector<std::string>{"a", "b"});
  CHECK(sdk::string_list(json::array(), "x").empty());  // not an object: nothing is given
}

TEST_CASE("given parameters are read in every accepted shape") {
  json p = {{"s", "text"}, {"b", false},          {"n", 3}, {"f", 2.5}, {"d", "25h"},
            {"one", "/a"}, {"many", {"/a", "/b"}}};
  CHECK(sdk::string_param(p, "s") == "text");
  CHECK(sdk::required_string(p, "s") == "text");
  CHECK_FALSE(sdk::bool_param(p, "b", true));
  CHECK(sdk::count_param(p, "n", 1) == 3);
  CHECK(sdk::number_param(p, "f", 0) == 2.5);
  CHECK(sdk::number_param(p, "n", 0) == 3);
  CHECK(sdk::duration_param(p, "d", "1s") == 25h);
  CHECK(sdk::string_list(p, "one") == std::vector<std::string>{"/a"});
  CHECK(sdk::string_list(p, "many") == std::vector<std::string>{"/a", "/b"});
}

TEST_CASE("a wrong value is a CheckError that names the parameter and what is expected") {
  json p = {{"n", "3"}, {"d", "30"}, {"dn", 30}, {"l", {1, 2}}, {"e", ""}, {"z", 0}};
  CHECK(error_of([&] { sdk::string_param(p, "z"); }) == "parameter 'z' must be a string");
  CHECK(error_of([&] { sdk::required_string(p, "e"); }) ==
        "parameter 'e' is required (a non-empty string)");
  CHECK(error_of([&] { sdk::required_string(p, "missing"); }) ==
        "parameter 'missing' is required (a non-empty string)");
  CHECK(error_of([&] { sdk::bool_param(p, "n", false); }) == "parameter 'n' must be true or false");
  CHECK(error_of([&] { sdk::number_param(p, "n", 0); }) == "parameter 'n' must be a number");
  CHECK(error_of([&] { sdk::count_param(p, "z", 1); }) ==
        "parameter 'z' must be a positive integer");
  CHECK(error_of([&] {
          sdk::duration_param(p, "d", "1s");
        }).find("parameter 'd' is not a duration: \"30\" (write e.g.") == 0);
  CHECK(error_of([&] { sdk::duration_param(p, "dn", "1s"); }) ==
        "parameter 'dn' must be a duration such as \"25h\"");
  CHECK(error_of([&] { sdk::string_list(p, "l"); }) == "parameter 'l' must be a list of strings");
  CHECK(error_of([&] { sdk::string_list(p, "z"); }) == "parameter 'z' must be a list of strings");
}

TEST_CASE("with_duration_patterns puts the duration pattern into a schema, escaped") {
  std::string schema = sdk::with_duration_patterns(
      R"({"type":"object","properties":{"a":{"type":"string","pattern":"@duration@"},
          "b":{"type":"string","pattern":"@duration@"}}})");
  json j = json::parse(schema);  // still valid JSON: the backslashes are escaped
  CHECK(j["properties"]["a"]["pattern"] == kDurationPattern);
  CHECK(j["properties"]["b"]["pattern"] == kDurationPattern);
  CHECK(schema.find("@duration@") == std::string::npos);
}
