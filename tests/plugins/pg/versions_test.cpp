#include "versions.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::pg;

TEST_CASE("tool and server versions") {
  CHECK(parse_version_text("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)") == 150018);
  CHECK(parse_version_text("pg_restore (PostgreSQL) 9.6.24") == 90624);
  CHECK(parse_version_text("pg_dump (PostgreSQL) 17beta1") == 170000);
  CHECK(!parse_version_text("no version here").has_value());
  CHECK(major_name(150018) == "15");
  CHECK(major_name(90624) == "9.6");
  CHECK(major_key(90624) < major_key(100001));
  CHECK(major_key(150018) == major_key(150002));
}
