#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::FakeHost;
using backup_doctor::resources::test::meminfo;
using backup_doctor::resources::test::metric_with;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;

TEST_CASE("resources.memory ok on a quiet fixture host, every figure a metric") {
  FakeHost h;
  h.proc_file("meminfo", meminfo(16'000'000, 8'000'000, 4'000'000, 4'000'000));
  h.psi("memory", 0.5, 0.1);
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(r.summary.find("50.0%") != std::string::npos);
  CHECK(r.details["memory_available_bytes"] == 8'000'000.0 * 1024);
  CHECK(r.details["pressure"]["available"] == true);
  CHECK(metric_with(r, "memory_available", "bytes")->value == doctest::Approx(8'000'000.0 * 1024));
  CHECK(metric_with(r, "memory_available", "percent")->value == doctest::Approx(50));
  CHECK(metric_with(r, "swap_used", "bytes")->value == doctest::Approx(0));
  REQUIRE(metric_with(r, "memory_pressure_some", "percent") != nullptr);
  CHECK(metric_with(r, "memory_pressure_full", "percent") != nullptr);
  CHECK(metric_with(r, "memory_pressure_some_stall", "seconds")->value ==
        doctest::Approx(123.456789));
}

TEST_CASE("resources.memory available memory thresholds on both sides") {
  FakeHost h;
  h.psi("memory", 0, 0);
  ResourcesPlugin plugin;
  h.proc_file("meminfo", meminfo(10'000'000, 1'100'000));  // 11%
  CHECK(run_check(plugin, "resources.memory", {{"proc_root", h.proc()}}).status == Status::ok);
  h.proc_file("meminfo", meminfo(10'000'000, 900'000));  // 9%
  auto warn = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(warn.status == Status::warn);
  CHECK(warn.remediation.find("ps aux --sort=-rss") != std::string::npos);
  h.proc_file("meminfo", meminfo(10'000'000, 400'000));  // 4%
  auto fail = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("4.0%") != std::string::npos);
  h.proc_file("meminfo", meminfo(10'000'000, 5'000'000));
  auto min =
      run_check(plugin, "resources.memory", {{"proc_root", h.proc()}, {"min_available", "8G"}});
  CHECK(min.status == Status::fail);
}

TEST_CASE("resources.memory swap use warns above the limit") {
  FakeHost h;
  h.psi("memory", 0, 0);
  h.proc_file("meminfo", meminfo(10'000'000, 5'000'000, 1'000'000, 400'000));  // 60% used
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("60.0% of swap") != std::string::npos);
  CHECK(run_check(plugin, "resources.memory",
                  {{"proc_root", h.proc()}, {"warn_swap_used_percent", 70}})
            .status == Status::ok);
}

TEST_CASE("resources.memory pressure: some warns, full fails") {
  FakeHost h;
  h.proc_file("meminfo", meminfo(10'000'000, 5'000'000));
  ResourcesPlugin plugin;
  h.psi("memory", 9.9, 0);
  CHECK(run_check(plugin, "resources.memory", {{"proc_root", h.proc()}}).status == Status::ok);
  h.psi("memory", 12, 2);
  auto warn = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(warn.status == Status::warn);
  CHECK(warn.summary.find("memory pressure some 12.0%") != std::string::npos);
  h.psi("memory", 40, 15);
  auto fail = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("memory pressure full 15.0%") != std::string::npos);
  // The window and the limits are parameters.
  CHECK(run_check(plugin, "resources.memory",
                  {{"proc_root", h.proc()}, {"warn_pressure", 50}, {"fail_pressure", 20}})
            .status == Status::ok);
  // avg300 is half of avg60 in the fixture: 7.5% full, below 10.
  CHECK(run_check(plugin, "resources.memory",
                  {{"proc_root", h.proc()}, {"pressure_window", "avg300"}, {"warn_pressure", 50}})
            .status == Status::ok);
}

TEST_CASE("resources.memory without a PSI file is skipped, clearly") {
  FakeHost h;
  h.proc_file("meminfo", meminfo(10'000'000, 5'000'000));
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(r.status == Status::skipped);
  CHECK(r.summary.find("memory pressure (PSI) unavailable") != std::string::npos);
  CHECK(r.summary.find("pressure/memory does not exist") != std::string::npos);
  CHECK(r.details["pressure"]["available"] == false);
  CHECK(metric_with(r, "memory_available", "bytes") != nullptr);  // still measured
  // Accepting an old kernel: judged on the other figures.
  CHECK(
      run_check(plugin, "resources.memory", {{"proc_root", h.proc()}, {"require_pressure", false}})
          .status == Status::ok);
  // A real problem is not hidden behind the missing PSI.
  h.proc_file("meminfo", meminfo(10'000'000, 100'000));
  auto fail = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("not evaluated") != std::string::npos);
}

TEST_CASE("resources.memory errors on an unreadable or broken meminfo") {
  FakeHost h;
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.memory", {{"proc_root", h.proc()}});
  CHECK(r.status == Status::error);
  h.proc_file("meminfo", "nothing useful\n");
  CHECK(run_check(plugin, "resources.memory", {{"proc_root", h.proc()}}).status == Status::error);
}

TEST_CASE("resources.memory on the live host: structure and ranges") {
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.memory",
                     {{"warn_available_percent", 0},
                      {"fail_available_percent", 0},
                      {"warn_swap_used_percent", 100},
                      {"warn_pressure", 100},
                      {"fail_pressure", 100},
                      {"require_pressure", false}});
  CHECK(r.status == Status::ok);
  double pct = r.details["memory_available_percent"].get<double>();
  CHECK(pct > 0);
  CHECK(pct <= 100);
  CHECK(r.details["memory_total_bytes"].get<double>() > 0);
  CHECK(r.details["pressure"].contains("available"));
}
