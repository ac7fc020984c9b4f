#include "location.hpp"

#include <doctest/doctest.h>

using backup_doctor::rsync::Location;
using backup_doctor::rsync::parse_location;

TEST_CASE("local paths") {
  for (const char* p : {"/srv/data/", "relative/dir", "./odd:name", "/a/b:c"}) {
    CAPTURE(p);
    auto l = parse_location(p);
    CHECK(l.kind == Location::Kind::local);
    CHECK(l.path == p);
  }
}

TEST_CASE("remote shell destinations") {
  auto l = parse_location("backup@nas.example:/volume1/backups/");
  CHECK(l.kind == Location::Kind::ssh);
  CHECK(l.user == "backup");
  CHECK(l.host == "nas.example");
  CHECK(l.path == "/volume1/backups/");

  l = parse_location("nas:backups");
  CHECK(l.kind == Location::Kind::ssh);
  CHECK(l.user.empty());
  CHECK(l.host == "nas");
  CHECK(l.path == "backups");

  l = parse_location("root@[2001:db8::1]:/srv");
  CHECK(l.kind == Location::Kind::ssh);
  CHECK(l.user == "root");
  CHECK(l.host == "2001:db8::1");
  CHECK(l.path == "/srv");

  l = parse_location("host:");
  CHECK(l.kind == Location::Kind::ssh);
  CHECK(l.path.empty());
}

TEST_CASE("rsync daemon destinations") {
  auto l = parse_location("nas::module/sub");
  CHECK(l.kind == Location::Kind::daemon);
  CHECK(l.host == "nas");
  CHECK(l.path == "module/sub");

  l = parse_location("rsync://backup@nas:873/module/sub");
  CHECK(l.kind == Location::Kind::daemon);
  CHECK(l.user == "backup");
  CHECK(l.host == "nas");
  CHECK(l.path == "module/sub");
}
