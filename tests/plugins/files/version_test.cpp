#include "version.hpp"
#include "fixtures.hpp"

using backup_doctor::files::compare_versions;
using backup_doctor::files::find_version;

TEST_CASE("find_version reads what real tools print") {
  CHECK(find_version("tar (GNU tar) 1.34\nCopyright (C) 2021") == "1.34");
  CHECK(find_version("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)") == "15.14");
  CHECK(find_version("rsync  version 3.2.7  protocol version 31") == "3.2.7");
  CHECK(find_version("*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***") == "1.5.4");
  CHECK(find_version("pigz 2") == "2");
  CHECK_FALSE(find_version("usage: frobnicate [options]"));
  CHECK(find_version("OpenSSH_9.2p1 Debian-2", R"(OpenSSH_([0-9.]+))") == "9.2");
  CHECK_THROWS_AS(find_version("x", "(bad"), backup_doctor::sdk::CheckError);
}

TEST_CASE("compare_versions compares numerically, component by component") {
  CHECK(compare_versions("1.10", "1.9") > 0);
  CHECK(compare_versions("15", "15.0") == 0);
  CHECK(compare_versions("15.14", "16") < 0);
  CHECK(compare_versions("3.2.7", "3.2.7") == 0);
  CHECK(compare_versions("2.0.0", "2") == 0);
  CHECK(compare_versions("9.2", "10") < 0);
}
