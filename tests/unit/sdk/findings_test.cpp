// sdk::Findings: several problems, one result, in the core's status order.
#include <backup_doctor/findings.hpp>
#include <backup_doctor/testing.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor;
using sdk::Findings;
using sdk::Status;

namespace {

// A plugin whose one check reports what the test put into `found`.
struct Probe : sdk::Plugin {
  static inline Findings found;
  static inline Findings::Style style = Findings::Style::lead;
  Probe() : Plugin("probe", "0", "") {
    add({.type = "probe.findings",
         .summary = "",
         .doc = "",
         .params_schema = nlohmann::json::object(),
         .run = [](const nlohmann::json&, sdk::Context& ctx) {
           found.report(ctx, "all fine", {{"k", 1}}, style);
         }});
  }
};

sdk::testing::Result reported(Findings f, Findings::Style style) {
  Probe::found = std::move(f);
  Probe::style = style;
  Probe plugin;
  return sdk::testing::run_check(plugin, "probe.findings", {});
}

}  // namespace

TEST_CASE("the worst status wins, in the core's order: ok < warn < fail < error") {
  Findings f;
  CHECK(f.status() == Status::ok);
  f.warn("w", "fix w");
  CHECK(f.status() == Status::warn);
  f.error("e", "fix e");
  CHECK(f.status() == Status::error);
  f.fail("f", "fix f");
  CHECK(f.status() == Status::error);  // a check that could not look vouches for nothing
  CHECK(sdk::rank(Status::skipped) == sdk::rank(Status::ok));
  CHECK(sdk::worse(Status::fail, Status::warn) == Status::fail);
}

TEST_CASE("not evaluated alone is skipped; beside a problem it is named") {
  Findings only;
  only.not_evaluated("no PSI");
  CHECK(only.status() == Status::skipped);
  auto r = reported(only, Findings::Style::list);
  CHECK(r.status == Status::skipped);
  CHECK(r.summary == "no PSI (all fine)");
  CHECK(r.details["not_evaluated"][0] == "no PSI");

  Findings both;
  both.warn("a warning", "fix a");
  both.not_evaluated("no PSI");
  auto b = reported(both, Findings::Style::list);
  CHECK(b.status == Status::warn);
  CHECK(b.summary == "a warning; not evaluated: no PSI");
}

TEST_CASE("lead style: the worst problem leads, every remediation in the order found") {
  Findings f;
  f.warn("small", "compare sizes");
  f.fail("old", "run the job");
  auto r = reported(f, Findings::Style::lead);
  CHECK(r.status == Status::fail);
  CHECK(r.summary == "old (and 1 more problem)");
  CHECK(r.remediation == "- compare sizes\n- run the job");
  CHECK(r.details["k"] == 1);
}

TEST_CASE("list style: every problem worst first, each distinct remediation once") {
  Findings f;
  f.warn("a warning", "fix a");
  f.fail("a failure", "fix b");
  f.warn("another warning", "fix a");
  auto r = reported(f, Findings::Style::list);
  CHECK(r.summary == "a failure; a warning; another warning");
  CHECK(r.remediation == "fix b\nfix a");
}

TEST_CASE("nothing found is ok with the ok summary") {
  auto r = reported(Findings{}, Findings::Style::lead);
  CHECK(r.status == Status::ok);
  CHECK(r.summary == "all fine");
}
