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
