#include "plugin_registry.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("every plugin in the search path loads - bad ones are listed, not fatal") {
  auto reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR, BD_FIXTURE_BAD_DIR, "/nonexistent"});
  CHECK(reg.plugins().size() == 2);
  CHECK(reg.plugin_for("fixture.crash") != nullptr);
  CHECK(reg.plugin_for("abi_v1.hello")->name == "abi_v1");
  CHECK(reg.plugin_for("nope.nope") == nullptr);
  CHECK(reg.refused().size() == 4);
  auto types = reg.check_types();
  CHECK(std::is_sorted(types.begin(), types.end()));
}

TEST_CASE("the first directory wins when two hold the same plugin") {
  test::TempDir dir;
  std::filesystem::copy_file(
      std::filesystem::path(BD_FIXTURE_PLUGIN_DIR) / "backup-doctor-fixture.so", dir / "copy.so");
  auto reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR, dir.path()});
  CHECK(reg.plugin_for("fixture.ok")->file.parent_path() ==
        std::filesystem::path(BD_FIXTURE_PLUGIN_DIR));
  REQUIRE(reg.refused().size() == 1);
  CHECK(reg.refused()[0].reason.find("already loaded from") != std::string::npos);
}

TEST_CASE("load_for loads only the plugins named after the wanted types' prefixes") {
  auto reg = PluginRegistry::load_for({BD_FIXTURE_PLUGIN_DIR, BD_FIXTURE_BAD_DIR},
                                      {"fixture.ok", "fixture.crash"});
  REQUIRE(reg.plugins().size() == 1);
  CHECK(reg.plugins()[0].name == "fixture");
  CHECK(reg.plugin_for("abi_v1.hello") == nullptr);
  CHECK(reg.refused().empty());  // the bad plugins were never opened
}

TEST_CASE("load_for falls back to every plugin when a type is not found by file name") {
  test::TempDir dir;
  // The fixture plugin under a name that does not say "fixture": found by the full load.
  std::filesystem::copy_file(
      std::filesystem::path(BD_FIXTURE_PLUGIN_DIR) / "backup-doctor-fixture.so",
      dir / "acme-checks.so");
  auto reg = PluginRegistry::load_for({dir.path(), BD_FIXTURE_BAD_DIR}, {"fixture.ok"});
  REQUIRE(reg.plugin_for("fixture.ok") != nullptr);
  CHECK(reg.plugin_for("fixture.ok")->file == dir / "acme-checks.so");
  CHECK(reg.refused().size() == 4);  // the full load tried the bad ones too

  // An unknown type loads everything, so "did you mean" can see every type.
  auto all = PluginRegistry::load_for({BD_FIXTURE_PLUGIN_DIR}, {"fixture.ok", "abi_v1.helo"});
  CHECK(all.plugin_for("abi_v1.hello") != nullptr);
}
