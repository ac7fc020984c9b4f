#include "runner.hpp"

#include "support/processes.hpp"

#include <doctest/doctest.h>
#include <unistd.h>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace backup_doctor;
using backup_doctor::test::processes_with;

namespace {
const PluginRegistry& registry() {
  static PluginRegistry reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR});
  return reg;
}
PlannedCheck check(const std::string& id, const std::string& type,
                   nlohmann::json params = nlohmann::json::object(),
                   std::vector<std::string> needs = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  PlannedCheck c;
  c.spec.id = id;
  c.spec.use = type;
  c.spec.needs = std::move(needs);
  c.spec.timeout = timeout;
  c.params = std::move(params);
  c.plugin = registry().plugin_for(type);
  REQUIRE(c.plugin);
  return c;
}
const CheckResult& by_id(const RunReport& r, const std::string& id) {
  for (const auto& x : r.results)
    if (x.id == id) return x;
  FAIL("no result for " << id);
  throw 0;
}
}  // namespace

TEST_CASE("results come back in checklist order with metrics and details") {
  Plan plan;
  plan.checks = {check("a", "fixture.ok"), check("b", "fixture.status", {{"status", "warn"}})};
  Scrubber s;
  auto report = run_plan(plan, {}, s);
  REQUIRE(report.results.size() == 2);
  CHECK(report.results[0].id == "a");
  CHECK(report.results[0].status == Status::ok);
  CHECK(report.results[0].details["answer"] == 42);
  REQUIRE(report.results[0].metrics.size() == 1);
  CHECK(report.results[0].metrics[0].unit == "bytes");
  CHECK(report.results[1].status == Status::warn);
  CHECK(report.results[1].remediation == "do the thing for warn");
}

TEST_CASE("crashing, aborting, hanging, throwing and exiting checks are contained") {
  Plan plan;
  plan.checks = {check("crash", "fixture.crash"),
                 check("abort", "fixture.abort"),
                 check("hang", "fixture.hang", {}, {}, std::chrono::milliseconds(700)),
                 check("throw", "fixture.throw"),
                 check("exit", "fixture.exit"),
                 check("silent", "fixture.silent"),
                 check("fine", "fixture.ok")};
  Scrubber s;
  auto t0 = std::chrono::steady_clock::now();
  auto report = run_plan(plan, {}, s);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed < std::chrono::milliseconds(700 + 1000));  // stopped by its timeout
  CHECK(by_id(report, "crash").status == Status::error);
  CHECK(by_id(report, "crash").summary.find("signal 11") != std::string::npos);
  CHECK(by_id(report, "abort").summary.find("signal 6") != std::string::npos);
  CHECK(by_id(report, "hang").status == Status::error);
  CHECK(by_id(report, "hang").summary.find("timeout") != std::string::npos);
  CHECK(by_id(report, "throw").summary.find("fixture exploded") != std::string::npos);
  CHECK(by_id(report, "exit").summary.find("exit code 7") != std::string::npos);
  CHECK(by_id(report, "silent").summary.find("without reporting a result") != std::string::npos);
  CHECK(by_id(report, "fine").status == Status::ok);
  for (const auto& r : report.results)
    if (r.status == Status::error) CHECK_FALSE(r.remediation.empty());
  CHECK(report.overall() == Status::error);
}

TEST_CASE("a check whose prerequisite did not pass is skipped, naming it") {
  Plan plan;
  plan.checks = {check("connect", "fixture.status", {{"status", "fail"}}),
                 check("grants", "fixture.ok", {}, {"connect"}),
                 check("deeper", "fixture.ok", {}, {"grants"}),
                 check("warned", "fixture.status", {{"status", "warn"}}),
                 check("after-warn", "fixture.ok", {}, {"warned"})};
  Scrubber s;
  auto report = run_plan(plan, {}, s);
  CHECK(by_id(report, "grants").status == Status::skipped);
  CHECK(by_id(report, "grants").summary.find("needs 'connect', which ended with status fail") !=
        std::string::npos);
  CHECK(by_id(report, "deeper").summary.find("was skipped") != std::string::npos);
  CHECK(by_id(report, "after-warn").status == Status::ok);  // a warning does not block
}

TEST_CASE("results carry their group, relations and parameters' fingerprint; after does not gate") {
  Plan plan;
  plan.checks = {check("connect", "fixture.status", {{"status", "fail"}, {"summary", "down"}}),
                 check("grants", "fixture.ok", {}, {"connect"}),
                 check("role", "fixture.status", {{"status", "warn"}})};
  plan.checks[0].spec.group = "database";
  plan.checks[2].spec.group = "database";
  plan.checks[2].spec.after = {"connect"};
  Scrubber s;
  auto report = run_plan(plan, {}, s);
  const auto& connect = by_id(report, "connect");
  CHECK(connect.group == "database");
  CHECK(connect.param_fingerprint == parameter_fingerprint(plan.checks[0].params));
  CHECK(connect.param_fingerprint.size() == 2);
  // Skipped results carry them too: the report hangs them under what they needed.
  const auto& grants = by_id(report, "grants");
  CHECK(grants.status == Status::skipped);
  CHECK(grants.needs == std::vector<std::string>{"connect"});
  const auto& role = by_id(report, "role");
  CHECK(role.status == Status::warn);  // ran, although what it comes after failed
  CHECK(role.after == std::vector<std::string>{"connect"});
}

TEST_CASE("checks run in parallel up to --jobs") {
  Plan plan;
  for (int i = 0; i < 4; ++i)
    plan.checks.push_back(
        check("s" + std::to_string(i), "fixture.status", {{"status", "ok"}, {"sleep_ms", 300}}));
  Scrubber s;
  RunnerOptions o;
  o.jobs = 4;
  auto t0 = std::chrono::steady_clock::now();
  run_plan(plan, o, s);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
  o.jobs = 1;
  t0 = std::chrono::steady_clock::now();
  run_plan(plan, o, s);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(1200));
}

TEST_CASE("an interrupt stops running checks and reports what finished") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  Plan plan;
  plan.checks = {check("quick", "fixture.ok"), check("hang", "fixture.hang"),
                 check("later", "fixture.ok", {}, {"hang"})};
  Scrubber s;
  RunnerOptions o;
  o.interrupt_fd = fds[0];
  o.stop_grace = std::chrono::milliseconds(200);
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    char c = 1;
    CHECK(write(fds[1], &c, 1) == 1);
  });
  auto report = run_plan(plan, o, s);
  interrupter.join();
  close(fds[0]);
  close(fds[1]);
  CHECK(report.interrupted);
  CHECK(by_id(report, "quick").status == Status::ok);
  CHECK(by_id(report, "hang").status == Status::error);
  CHECK(by_id(report, "hang").summary.find("interrupted") != std::string::npos);
  CHECK(by_id(report, "later").status == Status::skipped);
  CHECK(report.overall() == Status::error);
}

TEST_CASE("secrets are scrubbed from everything a check reports") {
  Plan plan;
  plan.checks = {check("echo", "fixture.echo", {{"password", "runner-s3cret"}})};
  Scrubber s;
  s.add("runner-s3cret");
  auto report = run_plan(plan, {}, s);
  const auto& r = report.results.at(0);
  CHECK(r.status == Status::fail);
  std::string everything =
      r.summary + r.remediation + r.details.dump() + r.metrics.at(0).labels.dump();
  for (const auto& l : r.logs) everything += l;
  CHECK(everything.find("runner-s3cret") == std::string::npos);
  CHECK(everything.find("[REDACTED]") != std::string::npos);
}

TEST_CASE("nothing a check starts outlives it, not even a daemon in its own session") {
  Plan plan;
  plan.checks = {check("returns", "fixture.escape", {{"seconds", "1000.611"}}),
                 check("hangs", "fixture.escape", {{"seconds", "1000.612"}, {"hang", true}}, {},
                       std::chrono::milliseconds(800)),
                 check("crashes-later", "fixture.ok")};
  Scrubber s;
  auto report = run_plan(plan, {}, s);
  CHECK(by_id(report, "returns").status == Status::ok);
  CHECK(by_id(report, "hangs").summary.find("timeout") != std::string::npos);
  // The runner returns only after the leftovers are gone: no waiting needed here.
  CHECK(processes_with("1000.611") == 0);
  CHECK(processes_with("1000.612") == 0);
}

TEST_CASE("a check never sees the variables secrets come from, and gets its own TMPDIR") {
  setenv("BD_RUNNER_TEST_SECRET", "hunter2", 1);
  Plan plan;
  plan.checks = {check("env", "fixture.environment", {{"name", "BD_RUNNER_TEST_SECRET"}}),
                 check("other", "fixture.environment", {{"name", "HOME"}})};
  plan.hidden_env = {"BD_RUNNER_TEST_SECRET"};
  Scrubber s;
  auto report = run_plan(plan, {}, s);
  unsetenv("BD_RUNNER_TEST_SECRET");
  CHECK(by_id(report, "env").details["set"] == false);
  CHECK(by_id(report, "other").details["set"] == true);
  std::string a = by_id(report, "env").details["tmpdir"],
              b = by_id(report, "other").details["tmpdir"];
  CHECK(a.find("/backup-doctor.") != std::string::npos);
  CHECK(a != b);                            // run side by side
  CHECK_FALSE(std::filesystem::exists(a));  // removed when the run ended
  CHECK_FALSE(std::filesystem::exists(b));
}

TEST_CASE("a check's TMPDIR goes to the next check only as it was made: empty") {
  Plan plan;
  plan.checks = {check("clean", "fixture.environment", {{"name", "HOME"}}),
                 check("after-clean", "fixture.environment", {{"name", "HOME"}, {"leave", "x"}}),
                 check("after-dirty", "fixture.environment", {{"name", "HOME"}})};
  Scrubber s;
  RunnerOptions o;
  o.jobs = 1;
  auto report = run_plan(plan, o, s);
  std::string clean = by_id(report, "clean").details["tmpdir"],
              after_clean = by_id(report, "after-clean").details["tmpdir"],
              after_dirty = by_id(report, "after-dirty").details["tmpdir"];
  CHECK(after_clean == clean);  // left empty: reused
  CHECK(after_dirty != clean);  // a file was left in it: removed, a new one made
  CHECK_FALSE(std::filesystem::exists(clean));
  CHECK_FALSE(std::filesystem::exists(after_dirty));
}

TEST_CASE("a check that times out is told first (SIGTERM), cleans up, and ends by its timeout") {
  char dir_pattern[] = "/tmp/bd-runner-XXXXXX";
  REQUIRE(mkdtemp(dir_pattern) != nullptr);
  std::string marker = std::string(dir_pattern) + "/cleaned";
  Plan plan;
  plan.checks = {
      check("slow", "fixture.cleanup", {{"marker", marker}}, {}, std::chrono::milliseconds(2000))};
  Scrubber s;
  RunnerOptions o;
  o.stop_grace = std::chrono::milliseconds(400);
  auto t0 = std::chrono::steady_clock::now();
  auto report = run_plan(plan, o, s);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= std::chrono::milliseconds(1500));
  CHECK(elapsed < std::chrono::milliseconds(2000 + 300));
  CHECK(std::filesystem::exists(marker));
  CHECK(by_id(report, "slow").summary.find("timeout") != std::string::npos);
  std::filesystem::remove_all(dir_pattern);
}
