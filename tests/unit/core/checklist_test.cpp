#include "checklist.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {
ChecklistLoad load(const std::string& text) {
  return load_checklist_text(text, "cl.json");
}
bool any_error(const ChecklistLoad& l, const std::string& needle) {
  for (const auto& e : l.errors)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("a complete checklist loads with defaults applied") {
  auto l = load(R"({
    "version": 1, "name": "nightly", "vars": {"dir": "/b"},
    "defaults": {"severity": "warning", "timeout": "2m"},
    "profiles": {"production": {"vars": {"dir": "/opt"}, "tags": ["db"]}},
    "checks": [
      {"id": "a", "use": "files.exists", "with": {"path": "${dir}"}},
      {"id": "b", "use": "files.freshness", "needs": ["a"], "severity": "critical",
       "timeout": "30s", "tags": ["db"], "description": "fresh"}
    ]})");
  REQUIRE(l.errors.empty());
  const auto& cl = *l.checklist;
  CHECK(cl.name == "nightly");
  REQUIRE(cl.checks.size() == 2);
  CHECK(cl.checks[0].severity == Severity::warning);
  CHECK(cl.checks[0].timeout == std::chrono::minutes(2));
  CHECK(cl.checks[1].severity == Severity::critical);
  CHECK(cl.checks[1].timeout == std::chrono::seconds(30));
  CHECK(cl.checks[1].needs == std::vector<std::string>{"a"});
  CHECK(cl.profiles.at("production").tags == std::vector<std::string>{"db"});
}

TEST_CASE("a syntax error gives file, line and column") {
  auto l = load("{\n \"version\": 1,\n \"checks\": [,]\n}");
  REQUIRE(l.errors.size() == 1);
  CHECK(l.errors[0].rfind("cl.json:3:", 0) == 0);
}

TEST_CASE("unknown keys name the check and suggest the right key") {
  auto l = load(
      R"({"version": 1, "checks": [{"id": "fresh", "use": "files.freshness", "neds": ["x"]}]})");
  REQUIRE_FALSE(l.checklist);
  CHECK(any_error(l,
                  "cl.json:1:77: check 'fresh': neds: unknown key 'neds' (did you mean 'needs'?)"));
}

TEST_CASE("schema problems name the check and field") {
  auto l = load(
      R"({"version": 1, "checks": [{"id": "x", "use": "files.exists", "severity": "urgent"}]})");
  REQUIRE_FALSE(l.checklist);
  CHECK(any_error(l,
                  "cl.json:1:74: check 'x': severity \"urgent\" is not one of \"critical\", "
                  "\"warning\", \"info\""));
  auto l2 = load(R"({"version": 2, "checks": [{"id": "x", "use": "files.exists"}]})");
  CHECK(any_error(l2, "cl.json:1:13: version 2 is not 1, the only value allowed here"));
}

TEST_CASE("duplicate ids, unknown needs and cycles are reported") {
  auto dup =
      load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x"}, {"id": "a", "use": "f.y"}]})");
  CHECK(any_error(dup,
                  "cl.json:1:61: check 'a': id: duplicate id (checks #1 and #2); every check needs "
                  "its own id"));
  auto unknown = load(R"({"version": 1, "checks": [{"id": "db-connect", "use": "f.x"},
                         {"id": "b", "use": "f.y", "needs": ["db-conect"]}]})");
  CHECK(any_error(unknown,
                  "check 'b': needs: unknown check id 'db-conect' (did you mean 'db-connect'?)"));
  auto cycle = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "needs": ["b"]},
                       {"id": "b", "use": "f.y", "needs": ["c"]}, {"id": "c", "use": "f.z", "needs": ["a"]}]})");
  CHECK(any_error(cycle, "cyclic dependency: a -> b -> c -> a"));
  auto self = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "needs": ["a"]}]})");
  CHECK(any_error(self, "cannot need itself"));
}

TEST_CASE("bad durations are rejected") {
  auto l = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "timeout": "30"}]})");
  CHECK(any_error(
      l,
      "cl.json:1:64: check 'a': timeout \"30\" is not a duration (examples: 90s, 25h, 7d, 1h30m)"));
  auto zero = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "timeout": "0s"}]})");
  CHECK(any_error(zero, "not a positive duration"));
}

TEST_CASE("profile files have the profile shape") {
  test::TempDir dir;
  std::vector<std::string> errors;
  auto good =
      load_profile_file(dir.write("p.json", R"({"vars": {"a": "b"}, "tags": ["x"]})"), errors);
  REQUIRE(good);
  CHECK(good->tags == std::vector<std::string>{"x"});
  auto bad = load_profile_file(dir.write("q.json", R"({"varz": {}})"), errors);
  CHECK_FALSE(bad);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("unknown key 'varz' (did you mean 'vars'?)") != std::string::npos);
}

TEST_CASE("a disabled check that an enabled one needs is refused, naming both") {
  auto l = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "enabled": false},
                   {"id": "b", "use": "f.y", "needs": ["a"]},
                   {"id": "c", "use": "f.y", "needs": ["a"], "enabled": false}]})");
  REQUIRE(l.errors.size() == 1);
  CHECK(l.errors[0] ==
        "cl.json:2:56: check 'b': needs: 'a' is disabled (\"enabled\": false), so this check "
        "would be skipped on every run; enable 'a', disable this one too, or drop the need");
}

TEST_CASE("a long chain of needs is checked without recursion") {
  nlohmann::json checks = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) {
    nlohmann::json c = {{"id", "c" + std::to_string(i)}, {"use", "f.x"}};
    if (i > 0) c["needs"] = {"c" + std::to_string(i - 1)};
    checks.push_back(c);
  }
  auto l = load(nlohmann::json{{"version", 1}, {"checks", checks}}.dump());
  CHECK(l.errors.empty());
  checks[0]["needs"] = {"c99999"};
  auto cyclic = load(nlohmann::json{{"version", 1}, {"checks", checks}}.dump());
  REQUIRE(cyclic.errors.size() == 1);
  CHECK(cyclic.errors[0].find("cyclic dependency: c0 -> c99999 -> c99998 -> c99997 -> "
                              "c99996 -> ... (99993 more) -> c2 -> c1 -> c0;") !=
        std::string::npos);
}

TEST_CASE("a check's group is its own, else its first tag, else other") {
  auto l = load(R"({"version": 1, "checks": [
    {"id": "a", "use": "f.x", "group": "offsite", "tags": ["cloud"]},
    {"id": "b", "use": "f.x", "tags": ["database", "logs"]},
    {"id": "c", "use": "f.x", "after": ["a", "b"]}]})");
  REQUIRE(l.errors.empty());
  const auto& checks = l.checklist->checks;
  CHECK(checks[0].group == "offsite");
  CHECK(checks[1].group == "database");
  CHECK(checks[2].group == "other");
  CHECK(checks[2].after == std::vector<std::string>{"a", "b"});
  CHECK(checks[2].needs.empty());
  auto empty = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "group": ""}]})");
  CHECK(any_error(empty, "cl.json:1:62: check 'a': group \"\" is empty; give a value"));
}

TEST_CASE("after is checked like needs: unknown ids, itself, and cycles over both") {
  auto unknown = load(R"({"version": 1, "checks": [{"id": "db-connect", "use": "f.x"},
                         {"id": "b", "use": "f.y", "after": ["db-conect"]}]})");
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0] ==
        "cl.json:2:62: check 'b': after: unknown check id 'db-conect' (did you mean "
        "'db-connect'?)");
  auto self = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "after": ["a"]}]})");
  REQUIRE(self.errors.size() == 1);
  CHECK(self.errors[0] ==
        "cl.json:1:63: check 'a': after: a check cannot come after itself; remove its own id");
  // a needs b, b comes after a: a consequence would be its own cause.
  auto mixed = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "needs": ["b"]},
                       {"id": "b", "use": "f.y", "after": ["a"]}]})");
  REQUIRE(mixed.errors.size() == 1);
  CHECK(mixed.errors[0] ==
        "cl.json:2:59: check 'b': after: cyclic dependency: a -> b -> a; remove one of these "
        "needs or after entries");
  auto afters = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "after": ["b"]},
                        {"id": "b", "use": "f.y", "after": ["c"]}, {"id": "c", "use": "f.z", "after": ["a"]}]})");
  CHECK(any_error(afters, "check 'c': after: cyclic dependency: a -> b -> c -> a;"));
  // Needs alone keep their message.
  auto needs = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "needs": ["b"]},
                      {"id": "b", "use": "f.y", "needs": ["a"]}]})");
  CHECK(any_error(needs,
                  "check 'b': needs: cyclic dependency: a -> b -> a; remove one of these "
                  "needs"));
  CHECK_FALSE(any_error(needs, "after"));
}

TEST_CASE("after may name a disabled check: it does not gate, it is merely never a cause") {
  auto l = load(R"({"version": 1, "checks": [{"id": "a", "use": "f.x", "enabled": false},
                   {"id": "b", "use": "f.y", "after": ["a"]}]})");
  CHECK(l.errors.empty());
}
