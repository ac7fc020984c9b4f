#include "suggest.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("a near miss gets a suggestion, a different word does not") {
  std::vector<std::string> types{"files.freshness", "files.exists", "pg.connect"};
  CHECK(nearest("files.fresness", types) == "files.freshness");
  CHECK(nearest("file.exists", types) == "files.exists");
  CHECK_FALSE(nearest("s3.reachable", types));
  CHECK(did_you_mean("pg.conect", types) == " (did you mean 'pg.connect'?)");
  CHECK(did_you_mean("zzz", types).empty());
  CHECK_FALSE(nearest("x", {}));
}
