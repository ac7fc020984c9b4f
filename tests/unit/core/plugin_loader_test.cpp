#include "plugin_loader.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace backup_doctor;

namespace {
std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(BD_FIXTURE_PLUGIN_DIR) / name;
}
std::filesystem::path bad(const std::string& name) {
  return std::filesystem::path(BD_FIXTURE_BAD_DIR) / name;
}
}  // namespace

TEST_CASE("a plugin built with the SDK loads and describes itself") {
  auto out = load_plugin(fixture("backup-doctor-fixture.so"));
  REQUIRE_MESSAGE(out.plugin, out.refusal);
  CHECK(out.plugin->name == "fixture");
  CHECK(out.plugin->version == "1.2.3");
  CHECK(out.plugin->abi_major == BD_ABI_MAJOR);
  REQUIRE(out.plugin->find("fixture.ok"));
  CHECK(out.plugin->find("fixture.ok")->params_schema["type"] == "object");
  CHECK(out.plugin->instance != nullptr);
  out.plugin->api->destroy(out.plugin->instance);
}

TEST_CASE("a plugin built against the frozen 1.0 C header loads") {
  auto out = load_plugin(fixture("backup-doctor-abi_v1.so"));
  REQUIRE_MESSAGE(out.plugin, out.refusal);
  CHECK(out.plugin->name == "abi_v1");
  CHECK(out.plugin->abi_minor == 0);
}

TEST_CASE("refusals name the reason") {
  auto major = load_plugin(bad("bad-wrong_major.so"));
  CHECK_FALSE(major.plugin);
  CHECK(major.refusal.find("built for plugin ABI 2.0, but this backup-doctor speaks ABI 1.") == 0);

  auto minor = load_plugin(bad("bad-newer_minor.so"));
  CHECK_FALSE(minor.plugin);
  CHECK(minor.refusal.find("newer than this backup-doctor's ABI") != std::string::npos);

  auto create = load_plugin(bad("bad-create_fails.so"));
  CHECK_FALSE(create.plugin);
  CHECK(create.refusal == "create() failed: cannot reach the licence server");

  auto none = load_plugin(bad("bad-no_entry.so"));
  CHECK_FALSE(none.plugin);
  CHECK(none.refusal.find("not a backup-doctor plugin") == 0);
}

TEST_CASE("a file that is not a shared library is refused") {
  test::TempDir dir;
  auto f = dir.write("junk.so", "not an ELF file");
  auto out = load_plugin(f);
  CHECK_FALSE(out.plugin);
  CHECK(out.refusal.find("cannot be loaded") == 0);
}

TEST_CASE("group- or world-writable plugin files are refused") {
  test::TempDir dir;
  auto copy = dir / "backup-doctor-fixture.so";
  std::filesystem::copy_file(fixture("backup-doctor-fixture.so"), copy);
  chmod(copy.c_str(), 0755);
  CHECK(unsafe_plugin_file_reason(copy).empty());
  chmod(copy.c_str(), 0775);
  CHECK(unsafe_plugin_file_reason(copy).find("writable by its group or by everyone") == 0);
  auto out = load_plugin(copy);
  CHECK_FALSE(out.plugin);
  CHECK(out.refusal.find("chmod go-w") != std::string::npos);
  chmod(copy.c_str(), 0757);
  CHECK_FALSE(load_plugin(copy).plugin);
}

TEST_CASE("plugin files owned by another user are refused") {
  if (geteuid() != 0) return;  // only root can give a file away; CI runs as root
  test::TempDir dir;
  auto copy = dir / "backup-doctor-fixture.so";
  std::filesystem::copy_file(fixture("backup-doctor-fixture.so"), copy);
  REQUIRE(chown(copy.c_str(), 65534, 65534) == 0);
  CHECK(unsafe_plugin_file_reason(copy).find("owned by uid 65534") == 0);
}

TEST_CASE("a plugin that is a symbolic link, or in a directory others can change, is refused") {
  test::TempDir dir;
  auto link = dir / "backup-doctor-fixture.so";
  std::filesystem::create_symlink(fixture("backup-doctor-fixture.so"), link);
  auto linked = load_plugin(link);
  CHECK_FALSE(linked.plugin);
  CHECK(linked.refusal.find("refused: it is a symbolic link") == 0);

  auto open_dir = dir / "shared";
  std::filesystem::create_directory(open_dir);
  chmod(open_dir.c_str(), 0777);  // anyone may swap the file, even if it is root's and 0755
  auto copy = open_dir / "backup-doctor-fixture.so";
  std::filesystem::copy_file(fixture("backup-doctor-fixture.so"), copy);
  chmod(copy.c_str(), 0755);
  auto swapped = load_plugin(copy);
  CHECK_FALSE(swapped.plugin);
  CHECK(swapped.refusal.find("its directory can be changed by someone else") != std::string::npos);
}

TEST_CASE("plugins loaded one after another are each their own library") {
  // Each is loaded through /proc/self/fd/N; the descriptor stays open while it is loaded, so
  // the next plugin cannot get the same name (the dynamic loader would hand back the first).
  auto a = load_plugin(fixture("backup-doctor-fixture.so"));
  auto b = load_plugin(fixture("backup-doctor-abi_v1.so"));
  REQUIRE(a.plugin);
  REQUIRE(b.plugin);
  CHECK(a.plugin->name == "fixture");
  CHECK(b.plugin->name == "abi_v1");
  a.plugin->api->destroy(a.plugin->instance);
  b.plugin->api->destroy(b.plugin->instance);
}
