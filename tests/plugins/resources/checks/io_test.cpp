#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::FakeHost;
using backup_doctor::resources::test::metric_with;
using backup_doctor::resources::test::swapping_hooks;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;

namespace {
// reads, merged, sectors, ms, writes, merged, sectors, ms, in flight, io ms, weighted ms
std::string line(unsigned maj, unsigned min, const std::string& name, uint64_t reads, uint64_t rms,
                 uint64_t writes, uint64_t wms, uint64_t io_ms) {
  return " " + std::to_string(maj) + " " + std::to_string(min) + " " + name + " " +
         std::to_string(reads) + " 0 " + std::to_string(reads * 8) + " " + std::to_string(rms) +
         " " + std::to_string(writes) + " 0 " + std::to_string(writes * 8) + " " +
         std::to_string(wms) + " 0 " + std::to_string(io_ms) + " " + std::to_string(rms + wms) +
         "\n";
}

struct IoFixture {
  FakeHost h;
  IoFixture() {
    h.block_device(8, 0, "sda");
    h.psi("io", 1, 0.5);
    h.proc_file("diskstats", line(8, 0, "sda", 1000, 5000, 1000, 5000, 10000) +
                                 line(8, 16, "sdb", 0, 0, 0, 0, 0));
  }
  // The second sample: +reads/writes, their times, and io_ms over a 1 s window.
  Hooks after(uint64_t d_reads, uint64_t d_rms, uint64_t d_writes, uint64_t d_wms, uint64_t d_io) {
    auto* host = &h;
    return swapping_hooks([=] {
      host->proc_file("diskstats", line(8, 0, "sda", 1000 + d_reads, 5000 + d_rms, 1000 + d_writes,
                                        5000 + d_wms, 10000 + d_io) +
                                       line(8, 16, "sdb", 0, 0, 0, 0, 0));
    });
  }
  nlohmann::json params(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json p = {{"proc_root", h.proc()}, {"sys_root", h.sys()}, {"device", "sda"}};
    p.update(extra);
    return p;
  }
};
}  // namespace

TEST_CASE("resources.io samples diskstats twice and computes util and await") {
  IoFixture f;
  ResourcesPlugin plugin(f.after(100, 500, 100, 1500, 300));
  auto r = run_check(plugin, "resources.io", f.params());
  CHECK(r.status == Status::ok);
  CHECK(r.details["device"]["name"] == "sda");
  CHECK(r.details["stats"]["util_percent"].get<double>() == doctest::Approx(30));
  CHECK(r.details["stats"]["r_await_ms"].get<double>() == doctest::Approx(5));
  CHECK(r.details["stats"]["w_await_ms"].get<double>() == doctest::Approx(15));
  CHECK(r.details["stats"]["await_ms"].get<double>() == doctest::Approx(10));
  CHECK(r.details["stats"]["reads_per_second"].get<double>() == doctest::Approx(100));
  CHECK(r.details["stats"]["read_bytes_per_second"].get<double>() ==
        doctest::Approx(100 * 8 * 512));
  CHECK(metric_with(r, "io_utilization", "percent")->value == doctest::Approx(30));
  CHECK(metric_with(r, "io_utilization", "percent")->labels["device"] == "sda");
  CHECK(metric_with(r, "io_await", "seconds")->value == doctest::Approx(0.010));
  CHECK(metric_with(r, "io_pressure_some", "percent") != nullptr);
}

TEST_CASE("resources.io utilization thresholds on both sides") {
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(10, 10, 10, 10, 890));
    CHECK(run_check(plugin, "resources.io", f.params()).status == Status::ok);
  }
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(10, 10, 10, 10, 950));
    auto r = run_check(plugin, "resources.io", f.params());
    CHECK(r.status == Status::warn);
    CHECK(r.summary.find("sda was busy 95.0%") != std::string::npos);
    CHECK(r.remediation.find("ionice -c 3") != std::string::npos);
  }
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(10, 10, 10, 10, 1000));
    CHECK(run_check(plugin, "resources.io", f.params({{"fail_util_percent", 99}})).status ==
          Status::fail);
  }
}

TEST_CASE("resources.io await thresholds on both sides") {
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(10, 990, 0, 0, 100));  // 99 ms
    CHECK(run_check(plugin, "resources.io", f.params()).status == Status::ok);
  }
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(10, 2000, 0, 0, 100));  // 200 ms
    auto r = run_check(plugin, "resources.io", f.params());
    CHECK(r.status == Status::warn);
    CHECK(r.summary.find("200.0 ms") != std::string::npos);
    CHECK(r.remediation.find("smartctl -a /dev/sda") != std::string::npos);
  }
  {
    IoFixture f;
    ResourcesPlugin plugin(f.after(1, 1500, 0, 0, 100));  // 1500 ms
    CHECK(run_check(plugin, "resources.io", f.params()).status == Status::fail);
  }
  {
    IoFixture f;  // no request at all: await is not judged
    ResourcesPlugin plugin(f.after(0, 0, 0, 0, 0));
    CHECK(run_check(plugin, "resources.io", f.params()).status == Status::ok);
  }
}

TEST_CASE("resources.io pressure thresholds and a missing PSI file") {
  IoFixture f;
  ResourcesPlugin plugin(f.after(1, 1, 1, 1, 1));
  f.h.psi("io", 25, 5);
  CHECK(run_check(plugin, "resources.io", f.params()).status == Status::warn);
  f.h.psi("io", 60, 30);
  auto fail = run_check(plugin, "resources.io", f.params());
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("io pressure full 30.0%") != std::string::npos);
  std::filesystem::remove(f.h.dir.path() / "proc/pressure/io");
  auto skipped = run_check(plugin, "resources.io", f.params());
  CHECK(skipped.status == Status::skipped);
  CHECK(skipped.summary.find("io pressure (PSI) unavailable") != std::string::npos);
  CHECK(skipped.details.contains("stats"));  // the device was still sampled
  // Without a device and without PSI there is nothing at all to measure.
  auto nothing =
      run_check(plugin, "resources.io", {{"proc_root", f.h.proc()}, {"sys_root", f.h.sys()}});
  CHECK(nothing.status == Status::skipped);
  CHECK(nothing.summary.find("nothing to measure") != std::string::npos);
}

TEST_CASE("resources.io finds the device behind a path through st_dev and /sys/dev/block") {
  backup_doctor::test::TempDir data;
  struct stat st {};
  REQUIRE(::stat(data.path().c_str(), &st) == 0);
  unsigned maj = ::major(st.st_dev), min = ::minor(st.st_dev);
  FakeHost h;
  h.psi("io", 0, 0);
  ResourcesPlugin plugin(swapping_hooks(
      [&] { h.proc_file("diskstats", line(maj, min, "backupdisk", 20, 100, 0, 0, 500)); }));
  h.proc_file("diskstats", line(maj, min, "backupdisk", 10, 50, 0, 0, 0));
  nlohmann::json p = {
      {"proc_root", h.proc()}, {"sys_root", h.sys()}, {"path", data.path().string()}};
  if (maj != 0) {
    h.block_device(maj, min, "backupdisk");
    auto r = run_check(plugin, "resources.io", p);
    CHECK(r.status == Status::ok);
    CHECK(r.details["device"]["name"] == "backupdisk");
    CHECK(r.details["stats"]["util_percent"].get<double>() == doctest::Approx(50));
  } else {
    // An anonymous device (overlay, btrfs) without a fixture mount table: reported, not fatal.
    auto r = run_check(plugin, "resources.io", p);
    CHECK(r.status == Status::ok);
    CHECK(r.details.contains("device_not_found"));
  }
}

TEST_CASE("resources.io: unknown device and bad sample are errors") {
  IoFixture f;
  ResourcesPlugin plugin(f.after(1, 1, 1, 1, 1));
  auto r = run_check(plugin, "resources.io", f.params({{"device", "sdz"}}));
  CHECK(r.status == Status::error);
  CHECK(r.error.find("lsblk") != std::string::npos);
  CHECK(run_check(plugin, "resources.io", f.params({{"sample", "soon"}})).status == Status::error);
}

TEST_CASE("resources.io on the live host: a real 200 ms sample, structure and ranges") {
  backup_doctor::test::TempDir t;
  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.io",
                     {{"path", t.path().string()},
                      {"sample", "200ms"},
                      {"warn_util_percent", 100.1},
                      {"warn_await_ms", 1e9},
                      {"fail_await_ms", 1e9},
                      {"warn_pressure", 100},
                      {"fail_pressure", 100},
                      {"require_pressure", false}});
  CHECK((r.status == Status::ok || r.status == Status::skipped));
  if (r.details.contains("stats")) {
    double util = r.details["stats"]["util_percent"].get<double>();
    CHECK(util >= 0);
    CHECK(util <= 100);
    CHECK(r.details["sample_seconds"].get<double>() >= 0.19);
    CHECK(metric_with(r, "io_utilization", "percent") != nullptr);
  } else {
    CHECK(r.details.contains("device_not_found"));
  }
}
