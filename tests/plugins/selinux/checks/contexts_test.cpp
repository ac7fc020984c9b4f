#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <selinux/selinux.h>

using namespace backup_doctor::selinux;
using backup_doctor::sdk::Status;
using backup_doctor::selinux::test::FakeSelinux;
using backup_doctor::testing::run_check;

namespace {
// Stores a label the way the kernel does (the security.selinux xattr); works as root even
// on a kernel without SELinux.
void label(const std::filesystem::path& p, const std::string& context) {
  REQUIRE(lsetfilecon_raw(p.c_str(), context.c_str()) == 0);
}

struct ContextsFixture {
  FakeSelinux f;
  std::filesystem::path backups;
  ContextsFixture() {
    f.enable(1);
    f.write_config("enforcing");
    backups = f.dir.path() / "opt/backups/database";
    f.write_file_contexts((f.dir.path() / "opt/backups/database").string() +
                          "(/.*)?    system_u:object_r:postgresql_db_t:s0\n" +
                          (f.dir.path() / "opt/backups/database/scripts").string() +
                          "(/.*)?  system_u:object_r:bin_t:s0\n");
    f.dir.write("opt/backups/database/latest.sql.gz", "x");
    f.dir.write("opt/backups/database/old.sql.gz", "x");
    label(backups, "system_u:object_r:postgresql_db_t:s0");
    label(backups / "latest.sql.gz", "unconfined_u:object_r:postgresql_db_t:s0");
    label(backups / "old.sql.gz", "system_u:object_r:postgresql_db_t:s0");
  }
  nlohmann::json params(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json p = {
        {"paths", {backups.string()}}, {"selinuxfs_root", f.selinuxfs()}, {"config", f.config()}};
    p.update(extra);
    return p;
  }
};
}  // namespace

TEST_CASE(
    "selinux.contexts: labels matching the policy are ok (user differences ignored, like "
    "restorecon)") {
  ContextsFixture x;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts", x.params({{"recursive", true}}));
  CHECK(r.status == Status::ok);
  CHECK(r.details["checked"] == 3);
  CHECK(r.details["mismatch_count"] == 0);
  CHECK(r.details["file_contexts"] == x.f.file_contexts());
  CHECK(r.metric("selinux_files_checked")->value == 3);
}

TEST_CASE("selinux.contexts: a mislabeled file fails with the exact restorecon") {
  ContextsFixture x;
  label(x.backups / "latest.sql.gz", "unconfined_u:object_r:user_home_t:s0");
  SelinuxPlugin plugin;
  auto top = run_check(plugin, "selinux.contexts", x.params());
  CHECK(top.status == Status::ok);  // not recursive: only the directory itself
  auto r = run_check(plugin, "selinux.contexts", x.params({{"recursive", true}}));
  CHECK(r.status == Status::fail);
  CHECK(r.details["mismatch_count"] == 1);
  auto m = r.details["mismatches"][0];
  CHECK(m["path"] == (x.backups / "latest.sql.gz").string());
  CHECK(m["actual_type"] == "user_home_t");
  CHECK(m["expected_type"] == "postgresql_db_t");
  CHECK(r.summary.find("is user_home_t, expected postgresql_db_t") != std::string::npos);
  CHECK(r.remediation.find("restorecon -Rv " + x.backups.string()) != std::string::npos);
  CHECK(r.metric("selinux_context_mismatches")->value == 1);
}

TEST_CASE("selinux.contexts: an unlabeled file and a single file path") {
  ContextsFixture x;
  x.f.dir.write("opt/backups/database/new.sql.gz", "x");  // no xattr at all
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts",
                     x.params({{"paths", {(x.backups / "new.sql.gz").string()}}}));
  CHECK(r.status == Status::fail);
  CHECK(r.details["unlabeled"] == 1);
  CHECK(r.details["mismatches"][0]["actual"] == "(none)");
  CHECK(r.remediation.find("restorecon -v " + (x.backups / "new.sql.gz").string()) !=
        std::string::npos);
}

TEST_CASE("selinux.contexts: expected_type the policy does not assign needs semanage fcontext") {
  ContextsFixture x;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts", x.params({{"expected_type", "rsync_data_t"}}));
  CHECK(r.status == Status::fail);
  CHECK(r.remediation.find("semanage fcontext -a -t rsync_data_t '" + x.backups.string() +
                           "(/.*)?'") != std::string::npos);
  CHECK(r.remediation.find("restorecon -Rv") != std::string::npos);
  CHECK(r.remediation.find("labels it postgresql_db_t") != std::string::npos);
  // The type the policy does assign: ok.
  CHECK(run_check(plugin, "selinux.contexts", x.params({{"expected_type", "postgresql_db_t"}}))
            .status == Status::ok);
}

TEST_CASE("selinux.contexts: expected_type when the policy agrees only needs restorecon") {
  ContextsFixture x;
  label(x.backups, "system_u:object_r:default_t:s0");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts", x.params({{"expected_type", "postgresql_db_t"}}));
  CHECK(r.status == Status::fail);
  CHECK(r.remediation.find("semanage") == std::string::npos);
  CHECK(r.remediation.find("restorecon -Rv " + x.backups.string()) != std::string::npos);
}

TEST_CASE("selinux.contexts: without policy rule nothing is compared, a missing path fails") {
  ContextsFixture x;
  x.f.dir.write("srv/other/file", "x");
  SelinuxPlugin plugin;
  auto none = run_check(
      plugin, "selinux.contexts",
      x.params({{"paths", {(x.f.dir.path() / "srv/other").string()}}, {"recursive", true}}));
  CHECK(none.status == Status::ok);
  CHECK(none.details["no_policy_rule"] == 2);
  auto missing = run_check(plugin, "selinux.contexts",
                           x.params({{"paths", {(x.f.dir.path() / "nope").string()}}}));
  CHECK(missing.status == Status::fail);
  CHECK(missing.summary.find("missing") != std::string::npos);
}

TEST_CASE("selinux.contexts: max_files and max_items cap the work and the list") {
  ContextsFixture x;
  for (int i = 0; i < 30; ++i) x.f.dir.write("opt/backups/database/f" + std::to_string(i), "x");
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts", x.params({{"recursive", true}, {"max_items", 5}}));
  CHECK(r.status == Status::fail);
  CHECK(r.details["mismatch_count"] == 30);
  CHECK(r.details["mismatches"].size() == 5);
  auto capped =
      run_check(plugin, "selinux.contexts", x.params({{"recursive", true}, {"max_files", 10}}));
  CHECK(capped.details["truncated"] == true);
  CHECK(capped.details["checked"] == 10);
}

TEST_CASE("selinux.contexts: skipped without SELinux, error without any expectation") {
  ContextsFixture x;
  SelinuxPlugin plugin;
  auto off = run_check(plugin, "selinux.contexts",
                       x.params({{"selinuxfs_root", (x.f.dir.path() / "none").string()}}));
  CHECK(off.status == Status::skipped);
  CHECK(off.summary == "SELinux is not enabled on this host");
  std::filesystem::remove(x.f.file_contexts());
  auto err = run_check(plugin, "selinux.contexts", x.params());
  CHECK(err.status == Status::error);
  CHECK(err.error.find("file_contexts") != std::string::npos);
  // With expected_type the policy is not needed.
  CHECK(run_check(plugin, "selinux.contexts", x.params({{"expected_type", "postgresql_db_t"}}))
            .status == Status::ok);
}

TEST_CASE("selinux.contexts on this live host (no SELinux here): skipped") {
  backup_doctor::test::TempDir t;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.contexts", {{"paths", {t.path().string()}}});
  if (r.status != Status::skipped)
    CHECK(r.details.contains("checked"));
  else
    CHECK(r.summary == "SELinux is not enabled on this host");
}
