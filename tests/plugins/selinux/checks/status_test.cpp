#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::selinux;
using backup_doctor::sdk::Status;
using backup_doctor::selinux::test::FakeSelinux;
using backup_doctor::testing::run_check;

namespace {
nlohmann::json params(const FakeSelinux& f, nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json p = {{"selinuxfs_root", f.selinuxfs()}, {"config", f.config()}};
  p.update(extra);
  return p;
}
}  // namespace

TEST_CASE("selinux.status: enforcing as configured is ok, with mode and policy") {
  FakeSelinux f;
  f.enable(1, 33);
  f.write_config("enforcing");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.status", params(f));
  CHECK(r.status == Status::ok);
  CHECK(r.summary == "SELinux enforcing, policy targeted (version 33)");
  CHECK(r.details["mode"] == "enforcing");
  CHECK(r.details["policy"] == "targeted");
  CHECK(r.details["policy_version"] == 33);
  CHECK(r.details["mls"] == true);
  CHECK(r.metric("selinux_enforcing")->value == 1);
  CHECK(r.metric("selinux_policy_version")->value == 33);
}

TEST_CASE("selinux.status: permissive now but enforcing in the config warns about the reboot") {
  FakeSelinux f;
  f.enable(0);
  f.write_config("enforcing");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.status", params(f));
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("permissive now but") != std::string::npos);
  CHECK(r.summary.find("next reboot") != std::string::npos);
  CHECK(r.remediation.find("ausearch -m avc") != std::string::npos);
  CHECK(r.metric("selinux_enforcing")->value == 0);
}

TEST_CASE("selinux.status: config disabled while running enabled warns") {
  FakeSelinux f;
  f.enable(1);
  f.write_config("disabled");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.status", params(f));
  CHECK(r.status == Status::warn);
  CHECK(r.remediation.find("autorelabel") != std::string::npos);
}

TEST_CASE("selinux.status: expect_mode on both sides") {
  FakeSelinux f;
  f.enable(0);
  f.write_config("permissive");
  SelinuxPlugin plugin;
  CHECK(run_check(plugin, "selinux.status", params(f, {{"expect_mode", "permissive"}})).status ==
        Status::ok);
  auto r = run_check(plugin, "selinux.status", params(f, {{"expect_mode", "enforcing"}}));
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("should be enforcing") != std::string::npos);
  CHECK(r.remediation.find("setenforce 1") != std::string::npos);
  CHECK(run_check(plugin, "selinux.status", params(f, {{"expect_mode", "sometimes"}})).status ==
        Status::error);
}

TEST_CASE("selinux.status: no selinuxfs is skipped, never a failure") {
  FakeSelinux f;
  f.write_config("enforcing");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.status", params(f));
  CHECK(r.status == Status::skipped);
  CHECK(r.summary == "SELinux is not enabled on this host");
  CHECK(r.details["enabled"] == false);
  CHECK(r.metric("selinux_enabled")->value == 0);
}

TEST_CASE("selinux.status on this live host (no SELinux here): skipped") {
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.status", nlohmann::json::object());
  // The build and CI hosts run without SELinux; should one have it, the mode must be known.
  if (r.status == Status::skipped) {
    CHECK(r.summary == "SELinux is not enabled on this host");
  } else {
    CHECK(r.details.contains("mode"));
  }
}
