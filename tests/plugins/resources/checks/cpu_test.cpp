#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::FakeHost;
using backup_doctor::resources::test::metric_with;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;

namespace {
void four_cpus(const FakeHost& h) {
  h.proc_file("stat",
              "cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu1 1 2 3 4\ncpu2 1 2 3 4\ncpu3 1 2 3 4\nintr 1\n");
}
}  // namespace

TEST_CASE("resources.cpu load per core thresholds on both sides") {
  FakeHost h;
  four_cpus(h);
  h.psi("cpu", 1, 0);
  ResourcesPlugin plugin;
  h.proc_file("loadavg", "9.00 5.80 2.00 3/200 999\n");  // 5m: 1.45 per core
  auto ok = run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}});
  CHECK(ok.status == Status::ok);
  CHECK(ok.details["cores"] == 4);
  CHECK(ok.details["load_per_core"]["5m"].get<double>() == doctest::Approx(1.45));
  CHECK(metric_with(ok, "cpu_cores", "count")->value == 4);
  CHECK(metric_with(ok, "load_per_core", "") != nullptr);
  h.proc_file("loadavg", "9.00 6.20 2.00 3/200 999\n");  // 1.55 per core
  auto warn = run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}});
  CHECK(warn.status == Status::warn);
  CHECK(warn.remediation.find("nice -n 10") != std::string::npos);
  h.proc_file("loadavg", "1.00 17.00 2.00 3/200 999\n");  // 4.25 per core
  CHECK(run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}}).status == Status::fail);
  // Another window: the 1m load is low.
  CHECK(
      run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}, {"load_window", "1m"}}).status ==
      Status::ok);
}

TEST_CASE("resources.cpu pressure judges some: warn and fail") {
  FakeHost h;
  four_cpus(h);
  h.proc_file("loadavg", "0.1 0.1 0.1 1/100 5\n");
  ResourcesPlugin plugin;
  h.psi("cpu", 39, 0, false);  // before 5.13 there is no full line for cpu
  CHECK(run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}}).status == Status::ok);
  h.psi("cpu", 45, 0, false);
  CHECK(run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}}).status == Status::warn);
  h.psi("cpu", 85, 0, false);
  auto fail = run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}});
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("cpu pressure some 85.0%") != std::string::npos);
}

TEST_CASE("resources.cpu without PSI is skipped, a broken loadavg is an error") {
  FakeHost h;
  four_cpus(h);
  h.proc_file("loadavg", "0.1 0.1 0.1 1/100 5\n");
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}});
  CHECK(r.status == Status::skipped);
  CHECK(r.summary.find("cpu pressure (PSI) unavailable") != std::string::npos);
  h.proc_file("loadavg", "x\n");
  CHECK(run_check(plugin, "resources.cpu", {{"proc_root", h.proc()}}).status == Status::error);
}

TEST_CASE("resources.cpu on the live host: structure and ranges") {
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.cpu",
                     {{"warn_load_per_core", 1e9},
                      {"fail_load_per_core", 1e9},
                      {"warn_pressure", 100},
                      {"fail_pressure", 100},
                      {"require_pressure", false}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["cores"].get<int>() >= 1);
  CHECK(r.details["load_average"]["1m"].get<double>() >= 0);
}
