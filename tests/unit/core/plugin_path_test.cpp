#include "plugin_path.hpp"

#include <doctest/doctest.h>
#include <algorithm>

using namespace backup_doctor;

TEST_CASE("the search path is flags, then the environment, then next to the binary") {
  auto path = plugin_search_path({"/a", "/b"}, "/c:/d", "/opt/bd/bin/backup-doctor");
  REQUIRE(path.size() >= 5);
  CHECK(path[0] == "/a");
  CHECK(path[1] == "/b");
  CHECK(path[2] == "/c");
  CHECK(path[3] == "/d");
  CHECK(path[4] == std::filesystem::path("/opt/bd") / BD_PLUGIN_REL_DIR);
  CHECK(path.back() == std::filesystem::path(BD_INSTALL_PLUGIN_DIR));
}

TEST_CASE("duplicates and empty entries are dropped") {
  auto path = plugin_search_path({"/a"}, "/a::", "");
  CHECK(std::count(path.begin(), path.end(), std::filesystem::path("/a")) == 1);
}

TEST_CASE("the running executable is known") {
  CHECK(current_executable().filename() == "core_tests");
}
