// Parsing checksum files as sha256sum and BSD-style tools write them.
#include "sidecar.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::archive;

namespace {
const std::string A(64, 'a');
const std::string B = std::string(63, 'B') + "c";
}  // namespace

TEST_CASE("sha256sum text and binary lines") {
  auto p = parse_sidecar(A + "  latest.tar.gz\n" + B + " *other file.tar.gz\n");
  REQUIRE(p.lines.size() == 2);
  CHECK(p.lines[0].digest == A);
  CHECK(p.lines[0].name == "latest.tar.gz");
  CHECK_FALSE(p.lines[0].binary);
  CHECK(p.lines[1].digest == std::string(63, 'b') + "c");  // lower-cased
  CHECK(p.lines[1].name == "other file.tar.gz");
  CHECK(p.lines[1].binary);
  CHECK(p.bad_lines.empty());
}

TEST_CASE("escaped names, BSD tags, CRLF, comments and junk") {
  auto p = parse_sidecar("\\" + A + "  back\\\\slash\\nnewline.tar\r\n# comment\n\n" +
                         "SHA256 (db.sql.gz) = " + B + "\nnot a checksum\n" + A + "\n");
  REQUIRE(p.lines.size() == 3);
  CHECK(p.lines[0].name == "back\\slash\nnewline.tar");
  CHECK(p.lines[1].name == "db.sql.gz");
  CHECK(p.lines[1].binary);
  CHECK(p.lines[2].name.empty());
  REQUIRE(p.bad_lines.size() == 1);
  CHECK(p.bad_lines[0] == 5);
}

TEST_CASE("picking the line for an archive") {
  bool matched = false;
  auto p = parse_sidecar(A + "  /opt/backups/files/latest.tar.gz\n" + B + "  db.sql.gz\n");
  auto line = pick_sidecar_line(p, "/srv/copy/latest.tar.gz", &matched);
  REQUIRE(line);
  CHECK(line->digest == A);
  CHECK(matched);
  CHECK_FALSE(pick_sidecar_line(p, "/x/unknown.tar.gz", &matched));

  auto single = parse_sidecar(A + "  backup.tmp\n");
  line = pick_sidecar_line(single, "/opt/backups/files/latest.tar.gz", &matched);
  REQUIRE(line);  // the only line is used, but flagged
  CHECK_FALSE(matched);

  auto bare = parse_sidecar(A + "\n");
  line = pick_sidecar_line(bare, "x.tar.gz", &matched);
  REQUIRE(line);
  CHECK(matched);
}

TEST_CASE("hex validation") {
  CHECK(is_sha256_hex(A));
  CHECK_FALSE(is_sha256_hex(A.substr(1)));
  CHECK_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
}

TEST_CASE("openssl dgst forms, OpenSSL 3 and 1.1") {
  auto p = parse_sidecar("SHA2-256(db.sql.gz)= " + A + "\nSHA256(files (1).tar.gz)= " + B + "\n");
  REQUIRE(p.lines.size() == 2);
  CHECK(p.lines[0].name == "db.sql.gz");
  CHECK(p.lines[0].digest == A);
  CHECK(p.lines[1].name == "files (1).tar.gz");
  CHECK(p.bad_lines.empty());
}
