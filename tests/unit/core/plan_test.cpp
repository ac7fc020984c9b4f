#include "plan.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {
const PluginRegistry& registry() {
  static PluginRegistry reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR});
  return reg;
}
Checklist checklist(const std::string& text, const std::filesystem::path& file = "cl.json") {
  auto l = load_checklist_text(text, file);
  REQUIRE_MESSAGE(l.checklist, (l.errors.empty() ? "" : l.errors[0]));
  return *l.checklist;
}
std::vector<std::string> ids(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.checks) out.push_back(c.spec.id);
  return out;
}
bool any(const std::vector<std::string>& errors, const std::string& needle) {
  for (const auto& e : errors)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}
const char* kList = R"({"version": 1, "vars": {"who": "base"},
  "profiles": {"production": {"vars": {"who": "prod"}, "tags": ["db"]}},
  "checks": [
    {"id": "base", "use": "fixture.ok"},
    {"id": "db", "use": "fixture.echo", "with": {"path": "${who}"}, "needs": ["base"], "tags": ["db"]},
    {"id": "files", "use": "fixture.ok", "tags": ["files"]},
    {"id": "off", "use": "fixture.ok", "enabled": false}
  ]})";
}  // namespace

TEST_CASE("without selection every enabled check runs, variables interpolated") {
  Scrubber s;
  auto out = make_plan(checklist(kList), registry(), {}, s);
  REQUIRE(out.errors.empty());
  CHECK(ids(out.plan) == std::vector<std::string>{"base", "db", "files"});
  CHECK(out.plan.checks[1].params["path"] == "base");
}

TEST_CASE("a profile sets vars and tags - what a selected check needs comes along") {
  Scrubber s;
  PlanOptions o;
  o.profile = "production";
  auto out = make_plan(checklist(kList), registry(), o, s);
  REQUIRE(out.errors.empty());
  CHECK(ids(out.plan) == std::vector<std::string>{"base", "db"});
  CHECK(out.plan.checks[1].params["path"] == "prod");
  o.vars = {{"who", "cli"}};
  CHECK(make_plan(checklist(kList), registry(), o, s).plan.checks[1].params["path"] == "cli");
}

TEST_CASE("--only and --tag select checks") {
  Scrubber s;
  PlanOptions o;
  o.only = {"files"};
  CHECK(ids(make_plan(checklist(kList), registry(), o, s).plan) ==
        std::vector<std::string>{"files"});
  PlanOptions t;
  t.tags = {"files"};
  CHECK(ids(make_plan(checklist(kList), registry(), t, s).plan) ==
        std::vector<std::string>{"files"});
  PlanOptions bad;
  bad.only = {"flies"};
  CHECK(any(make_plan(checklist(kList), registry(), bad, s).errors,
            "no check has id 'flies' (did you mean 'files'?)"));
}

TEST_CASE("a profile file next to the checklist is found") {
  test::TempDir dir;
  auto file = dir.write("cl.json", kList);
  dir.write("profiles/ci.json", R"({"vars": {"who": "ci"}, "tags": ["db"]})");
  Scrubber s;
  PlanOptions o;
  o.profile = "ci";
  auto out = make_plan(checklist(kList, file), registry(), o, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[1].params["path"] == "ci");
  o.profile = "prodution";
  CHECK(any(make_plan(checklist(kList, file), registry(), o, s).errors,
            "unknown profile 'prodution' (did you mean 'production'?)"));
}

TEST_CASE("unknown check types suggest the nearest") {
  Scrubber s;
  auto out = make_plan(checklist(R"({"version":1,"checks":[{"id":"x","use":"fixture.echoo"}]})"),
                       registry(), {}, s);
  CHECK(any(out.errors,
            "cl.json:1:40: check 'x': use: unknown check type 'fixture.echoo' (did you mean "
            "'fixture.echo'?)"));
}

TEST_CASE(
    "parameters are validated against the plugin's schema, naming file, check and parameter") {
  Scrubber s;
  auto out = make_plan(checklist(R"({"version":1,"checks":[
      {"id":"typo","use":"fixture.echo","with":{"pth":"/x"}},
      {"id":"type","use":"fixture.echo","with":{"count":"many"}},
      {"id":"missing","use":"fixture.status"}]})"),
                       registry(), {}, s);
  CHECK(any(out.errors,
            "cl.json:2:55: check 'typo': with.pth: unknown key 'pth' (did you mean 'path'?)"));
  CHECK(any(out.errors,
            "cl.json:3:57: check 'type': with.count \"many\" is a string, expected an integer "
            "('backup-doctor describe fixture.echo' lists the parameters)"));
  CHECK(any(out.errors,
            "cl.json:4:7: check 'missing': with: the required key 'status' is missing "
            "('backup-doctor describe fixture.status' lists the parameters)"));
}

TEST_CASE(
    "secrets are resolved for a run, registered for scrubbing, and never needed to validate") {
  const char* text = R"({"version":1,"checks":[{"id":"s","use":"fixture.echo",
      "with":{"password":{"secret":{"env":"BD_PLAN_TEST_PW"}}}}]})";
  Scrubber s;
  PlanOptions validate_only;
  validate_only.resolve_secrets = false;
  CHECK(make_plan(checklist(text), registry(), validate_only, s).errors.empty());
  // Missing for a run: the plan stands, the check carries why it cannot run and what to do.
  auto without = make_plan(checklist(text), registry(), {}, s);
  REQUIRE(without.errors.empty());
  CHECK(without.plan.checks[0].cannot_run ==
        "with.password: secret environment variable BD_PLAN_TEST_PW is not set; export it "
        "before the run");
  CHECK(without.plan.checks[0].cannot_run_remedy.rfind("Export BD_PLAN_TEST_PW in the", 0) == 0);
  setenv("BD_PLAN_TEST_PW", "pl4n-s3cret", 1);
  auto out = make_plan(checklist(text), registry(), {}, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[0].params["password"] == "pl4n-s3cret");
  CHECK(s.scrub("pl4n-s3cret") == "[REDACTED]");
  unsetenv("BD_PLAN_TEST_PW");
}

TEST_CASE("a --var overriding a number or boolean variable keeps that type") {
  const char* text = R"({"version":1,"vars":{"n":5,"flag":true,"word":"x"},"checks":[
      {"id":"e","use":"fixture.echo","with":{"count":"${n}","path":"${word}"}}]})";
  Scrubber s;
  PlanOptions o;
  o.vars = {{"n", "7"}, {"word", "12"}};
  auto out = make_plan(checklist(text), registry(), o, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[0].params["count"] == 7);
  CHECK(out.plan.checks[0].params["path"] == "12");
  o.vars = {{"n", "seven"}};
  CHECK(any(make_plan(checklist(text), registry(), o, s).errors, "--var n: expected a number"));
}

TEST_CASE("a value taken from a secret's variable with ${env:...} is a secret too") {
  setenv("BD_PLAN_DB_PW", "pw-from-env-77", 1);
  auto cl = checklist(R"({"version": 1, "vars": {"dsn": "postgres://u:${env:BD_PLAN_DB_PW}@db"},
    "checks": [
      {"id": "a", "use": "fixture.echo", "with": {"password": {"secret": {"env": "BD_PLAN_DB_PW"}}}},
      {"id": "b", "use": "fixture.echo", "with": {"path": "${env:BD_PLAN_DB_PW}"}},
      {"id": "c", "use": "fixture.echo", "with": {"path": "${dsn}"}}
    ]})");
  Scrubber s;
  auto out = make_plan(cl, registry(), {}, s);
  unsetenv("BD_PLAN_DB_PW");
  REQUIRE(out.errors.empty());
  CHECK(out.plan.hidden_env == std::vector<std::string>{"BD_PLAN_DB_PW"});
  CHECK(s.scrub("path pw-from-env-77 and postgres://u:pw-from-env-77@db") ==
        "path [REDACTED] and postgres://u:[REDACTED]@db");
}

TEST_CASE("a profile name is a name, not a path") {
  auto cl = checklist(kList);
  for (std::string name : {"../evil", "/etc/passwd", ".hidden", "a/b", "-x"}) {
    CAPTURE(name);
    Scrubber s;
    PlanOptions o;
    o.profile = name;
    auto out = make_plan(cl, registry(), o, s);
    CHECK(any(out.errors, "is not a profile name"));
  }
}

TEST_CASE("a plugin's own timeout longer than the check's is an error naming both") {
  auto cl = checklist(R"({"version": 1, "checks": [
      {"id": "slow", "use": "fixture.limits", "timeout": "30s",
       "with": {"timeout": "5m", "server": {"connect_timeout": "45s"}}},
      {"id": "fine", "use": "fixture.limits", "timeout": "30s",
       "with": {"timeout": "20s", "server": {"connect_timeout": "30s"}}},
      {"id": "default", "use": "fixture.limits"}]})");
  Scrubber s;
  auto out = make_plan(cl, registry(), {}, s);
  REQUIRE(out.errors.size() == 2);
  CHECK(any(out.errors,
            "cl.json: check 'slow': with.timeout: 5m is longer than the check's own timeout of "
            "30s, which would stop the check first; raise the check's \"timeout\" above it or "
            "lower this one"));
  CHECK(any(out.errors, "check 'slow': with.server.connect_timeout: 45s is longer"));
}

TEST_CASE("a --var that names no variable is an error with a suggestion") {
  Scrubber s;
  PlanOptions o;
  o.vars = {{"sandbx", "/tmp"}, {"extra", "y"}};
  auto out = make_plan(checklist(R"({"version":1,"vars":{"sandbox":"/srv"},"checks":[
      {"id":"a","use":"fixture.echo","with":{"path":"${sandbox}/${extra}"}}]})"),
                       registry(), o, s);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0] ==
        "cl.json: --var sandbx: this checklist has no variable 'sandbx' (did you mean "
        "'sandbox'?); its variables: extra, sandbox");
  // A variable only used (not defined) is known: it is meant to come from --var.
  o.vars = {{"extra", "x"}};
  auto used = make_plan(checklist(R"({"version":1,"vars":{"sandbox":"/srv"},"checks":[
      {"id":"a","use":"fixture.echo","with":{"path":"${sandbox}/${extra}"}}]})"),
                        registry(), o, s);
  REQUIRE(used.errors.empty());
  CHECK(used.plan.checks[0].params["path"] == "/srv/x");
}

TEST_CASE("variables use other variables in dependency order, and a cycle is named") {
  Scrubber s;
  PlanOptions o;
  o.vars = {{"root", "/srv"}};
  auto out = make_plan(checklist(R"({"version":1,
      "vars":{"dumps":"${backups}/db","backups":"${root}/backups","root":"/","n":3},
      "checks":[{"id":"a","use":"fixture.echo","with":{"path":"${dumps}","count":"${n}"}}]})"),
                       registry(), o, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[0].params["path"] == "/srv/backups/db");
  CHECK(out.plan.checks[0].params["count"] == 3);
  auto cycle = make_plan(checklist(R"({"version":1,"vars":{"a":"${b}/x","b":"${a}/y"},
      "checks":[{"id":"c","use":"fixture.echo","with":{"path":"${a}"}}]})"),
                         registry(), {}, s);
  REQUIRE_FALSE(cycle.errors.empty());
  CHECK(cycle.errors[0] ==
        "cl.json: vars.a: variables refer to each other in a circle: ${a} -> ${b} -> ${a}; give "
        "one of them a value of its own");
}

TEST_CASE("running part of a checklist never needs what the rest uses") {
  Scrubber s;
  const char* text = R"({"version":1,"vars":{"token":"${env:BD_PLAN_UNSET_VAR}"},"checks":[
      {"id":"db","use":"fixture.echo","tags":["db"],
       "with":{"path":"${token}","password":{"secret":{"env":"BD_PLAN_UNSET_PW"}}}},
      {"id":"files","use":"fixture.ok","tags":["files"]}]})";
  PlanOptions files;
  files.tags = {"files"};
  auto out = make_plan(checklist(text), registry(), files, s);
  CHECK(out.errors.empty());
  CHECK(ids(out.plan) == std::vector<std::string>{"files"});
  PlanOptions skip;
  skip.skip_tags = {"db"};
  out = make_plan(checklist(text), registry(), skip, s);
  CHECK(out.errors.empty());
  CHECK(ids(out.plan) == std::vector<std::string>{"files"});
  PlanOptions typo;
  typo.skip_tags = {"dbb"};
  CHECK(any(make_plan(checklist(text), registry(), typo, s).errors,
            "cl.json: --skip-tag: no check has the tag 'dbb' (did you mean 'db'?)"));
}

TEST_CASE("a variable file sets variables after the profile and before --var") {
  test::TempDir dir;
  Scrubber s;
  PlanOptions o;
  o.var_files = {dir.write("vars.json", R"({"where": "/from-file", "n": 7})")};
  const char* text = R"({"version":1,"vars":{"where":"/default","n":1},"checks":[
      {"id":"a","use":"fixture.echo","with":{"path":"${where}","count":"${n}"}}]})";
  auto out = make_plan(checklist(text), registry(), o, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[0].params["path"] == "/from-file");
  CHECK(out.plan.checks[0].params["count"] == 7);
  o.vars = {{"where", "/from-var"}};
  CHECK(make_plan(checklist(text), registry(), o, s).plan.checks[0].params["path"] == "/from-var");
  o.var_files = {dir.write("bad.json", "{\n  \"where\": [1]\n}")};
  auto bad = make_plan(checklist(text), registry(), o, s);
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0] ==
        (dir / "bad.json").string() +
            ":2:12: where: is array; a variable is a string, a number or a boolean");
}

TEST_CASE("a schema message never quotes a value that a secret went into") {
  Scrubber s;
  setenv("BD_PLAN_SECRET_TOKEN", "t0ken-\"quoted\"-and-long-enough-to-be-shortened-in-a-message-xx",
         1);
  auto out = make_plan(checklist(R"({"version":1,"checks":[
      {"id":"a","use":"fixture.echo","with":{"count":"${env:BD_PLAN_SECRET_TOKEN}",
       "password":{"secret":{"env":"BD_PLAN_SECRET_TOKEN"}}}}]})"),
                       registry(), {}, s);
  unsetenv("BD_PLAN_SECRET_TOKEN");
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0] ==
        "cl.json:2:54: check 'a': with.count <secret> is a string, expected an integer "
        "('backup-doctor describe fixture.echo' lists the parameters)");
}

TEST_CASE("long chains of variables resolve without recursion; runaway growth is refused") {
  Scrubber s;
  nlohmann::json vars = {{"v0", "/srv"}};
  for (int i = 1; i < 50000; ++i)
    vars["v" + std::to_string(i)] = "${v" + std::to_string(i - 1) + "}";
  nlohmann::json doc = {
      {"version", 1},
      {"vars", vars},
      {"checks", {{{"id", "a"}, {"use", "fixture.echo"}, {"with", {{"path", "${v49999}/x"}}}}}}};
  auto out = make_plan(checklist(doc.dump()), registry(), {}, s);
  REQUIRE(out.errors.empty());
  CHECK(out.plan.checks[0].params["path"] == "/srv/x");

  nlohmann::json doubling = {{"a0", std::string(16, 'x')}};
  for (int i = 1; i < 40; ++i)
    doubling["a" + std::to_string(i)] =
        "${a" + std::to_string(i - 1) + "}${a" + std::to_string(i - 1) + "}";
  doc["vars"] = doubling;
  doc["checks"][0]["with"]["path"] = "/${a39}";
  auto grown = make_plan(checklist(doc.dump()), registry(), {}, s);
  CHECK(any(grown.errors,
            "cl.json: vars.a17: its value grows past 1 MiB once the variables in "
            "it are replaced"));
}

TEST_CASE("a variable file's syntax error gives the position, not what it holds") {
  test::TempDir dir;
  Scrubber s;
  PlanOptions o;
  o.var_files = {dir.write("vars.json", "{\"pw\": \"hunter2-secret\n\"}")};
  auto out = make_plan(checklist(R"({"version":1,"checks":[{"id":"a","use":"fixture.ok"}]})"),
                       registry(), o, s);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].rfind((dir / "vars.json").string() + ":1:", 0) == 0);
  CHECK(out.errors[0].find("hunter2") == std::string::npos);
}
