#include "rsync_output.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::rsync;

TEST_CASE("parse_stats reads the --stats block, with or without digit grouping") {
  const char* out =
      "cd+++++++++ ./\n>f+++++++++ a\n\n"
      "Number of files: 1,204 (reg: 1,100, dir: 104)\n"
      "Number of created files: 4 (reg: 2, dir: 2)\n"
      "Number of deleted files: 3\n"
      "Number of regular files transferred: 2\n"
      "Total file size: 2,298,953 bytes\n"
      "Total transferred file size: 4096 bytes\n"
      "Literal data: 0 bytes\n";
  auto s = parse_stats(out);
  REQUIRE(s.files);
  CHECK(*s.files == 1204);
  CHECK(*s.regular_files == 1100);
  CHECK(*s.created_files == 4);
  CHECK(*s.deleted_files == 3);
  CHECK(*s.transferred_files == 2);
  CHECK(*s.total_size == 2298953);
  CHECK(*s.transferred_size == 4096);
}

TEST_CASE("parse_stats on output without a summary") {
  auto s = parse_stats("rsync: connection unexpectedly closed\n");
  CHECK_FALSE(s.files);
  CHECK_FALSE(s.transferred_size);
}

TEST_CASE("parse_itemized counts sent files, changes and deletions") {
  const char* out =
      "created directory /tmp/x\n"
      "cd+++++++++ ./\n"
      ">f+++++++++ a file with spaces.txt\n"
      "<f.st...... remote/sent.bin\n"
      ".d..t...... sub/\n"
      "cL+++++++++ link -> target\n"
      "*deleting   old.txt\n"
      "\n"
      "Number of files: 4\n";
  auto it = parse_itemized(out);
  REQUIRE(it.sent_files.size() == 2);
  CHECK(it.sent_files[0] == "a file with spaces.txt");
  CHECK(it.sent_files[1] == "remote/sent.bin");
  CHECK(it.changed == 5);
  CHECK(it.deletions == 1);
}

TEST_CASE("parse_stderr groups rsync's complaints by kind and path") {
  const char* err =
      "rsync: [sender] opendir \"/src/private\" failed: Permission denied (13)\n"
      "rsync: [sender] send_files failed to open \"/src/secret.key\": Permission denied (13)\n"
      "rsync: [sender] link_stat \"/src/missing\" failed: No such file or directory (2)\n"
      "file has vanished: \"/src/tmp/cache.123\"\n"
      "rsync: [receiver] write failed on \"/dst/big.iso\": No space left on device (28)\n"
      "rsync: [generator] failed to set permissions on \"/dst/.\": Operation not permitted (1)\n"
      "*** Skipping any contents from this failed directory ***\n"
      "rsync: --bogus: unknown option\n"
      "Could not chdir to home directory /nonexistent: No such file or directory\n"
      "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at "
      "main.c(1338) [sender=3.2.7]\n";
  auto r = parse_stderr(err);
  REQUIRE(r.issues.size() == 6);
  CHECK(r.issues[0].kind == "permission_denied");
  CHECK(r.issues[0].path == "/src/private");
  CHECK(r.issues[1].kind == "permission_denied");
  CHECK(r.issues[1].path == "/src/secret.key");
  CHECK(r.issues[2].kind == "missing");
  CHECK(r.issues[3].kind == "vanished");
  CHECK(r.issues[3].path == "/src/tmp/cache.123");
  CHECK(r.issues[4].kind == "no_space");
  CHECK(r.issues[5].kind == "not_permitted");
  REQUIRE(r.other_lines.size() == 1);
  CHECK(r.other_lines[0] == "rsync: --bogus: unknown option");
  CHECK(r.rsync_error_line.find("(code 23)") != std::string::npos);
}

TEST_CASE("parse_version") {
  auto v = parse_version("rsync  version 3.2.7  protocol version 31\nCopyright ...");
  REQUIRE(v);
  CHECK(v->version == "3.2.7");
  CHECK(v->protocol == 31);
  CHECK_FALSE(parse_version("bash: rsync: command not found"));
}

TEST_CASE("numbers too large for their field do not end the diagnosis") {
  // The other side's words: an errno, a protocol version or a count no real rsync prints.
  auto r = parse_stderr(
      "rsync: [sender] opendir \"/src/private\" failed: Permission denied (99999999999)\n"
      "rsync: [sender] opendir \"/src/other\" failed: Permission denied (13)\n");
  REQUIRE(r.issues.size() == 2);
  CHECK(r.issues[0].kind == "error");
  CHECK(r.issues[1].kind == "permission_denied");
  auto v = parse_version("rsync  version 3.2.7  protocol version 99999999999\n");
  REQUIRE(v);
  CHECK(v->version == "3.2.7");
  CHECK(v->protocol == 0);  // unknown
  auto s =
      parse_stats("Number of files: 99999999999999999999999 (reg: 5)\nTotal file size: 12 bytes\n");
  CHECK_FALSE(s.files.has_value());
  REQUIRE(s.total_size);
  CHECK(*s.total_size == 12u);
}
