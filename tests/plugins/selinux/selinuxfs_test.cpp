#include "selinuxfs.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::selinux;
using backup_doctor::selinux::test::FakeSelinux;

TEST_CASE("read_selinux_state reads a fake selinuxfs through libselinux") {
  FakeSelinux f;
  f.enable(1, 33);
  auto s = read_selinux_state(f.selinuxfs());
  CHECK(s.enabled);
  CHECK(s.enforce == 1);
  CHECK(s.policy_version == 33);
  CHECK(s.deny_unknown == 0);
  CHECK(s.mls == 1);
  f.enable(0, 31);
  auto p = read_selinux_state(f.selinuxfs());
  CHECK(p.enforce == 0);
  CHECK(p.policy_version == 31);
}

TEST_CASE("read_selinux_state: no selinuxfs means not enabled, with the reason") {
  FakeSelinux f;
  auto s = read_selinux_state(f.selinuxfs());
  CHECK_FALSE(s.enabled);
  CHECK(s.reason.find("enforce does not exist") != std::string::npos);
}

TEST_CASE("read_selinux_config and the policy's file_contexts path") {
  FakeSelinux f;
  f.dir.write("etc/selinux/config",
              "# comment\n SELINUX = permissive \nSELINUXTYPE=\"mls\"\nOTHER=x\n");
  auto c = read_selinux_config(f.config());
  CHECK(c.found);
  CHECK(c.mode == "permissive");
  CHECK(c.type == "mls");
  CHECK(default_file_contexts(c) ==
        (f.dir.path() / "etc/selinux/mls/contexts/files/file_contexts").string());
  CHECK_FALSE(read_selinux_config(f.config() + ".missing").found);
}

TEST_CASE("parse_context splits user, role, type and an MLS range with colons") {
  auto c = parse_context("system_u:object_r:postgresql_db_t:s0-s0:c0.c1023");
  CHECK(c.valid);
  CHECK(c.user == "system_u");
  CHECK(c.role == "object_r");
  CHECK(c.type == "postgresql_db_t");
  CHECK(c.level == "s0-s0:c0.c1023");
  auto no_level = parse_context("u:r:t_t");
  CHECK(no_level.valid);
  CHECK(no_level.level.empty());
  CHECK_FALSE(parse_context("garbage").valid);
}
