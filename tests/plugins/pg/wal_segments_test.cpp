#include "wal_segments.hpp"

#include <backup_doctor/support/process.hpp>
#include "support/temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

using namespace backup_doctor::pg;

TEST_CASE("WAL segment names") {
  const uint64_t seg = kDefaultWalSegmentSize;
  auto w = parse_wal_name("0000000200000001000000FF", seg);
  REQUIRE(w.has_value());
  CHECK(w->timeline == 2);
  CHECK(w->segno == 256 + 255);
  CHECK(wal_file_name(2, 256 + 255, seg) == "0000000200000001000000FF");
  CHECK(wal_file_name(1, 256 + 256, seg) == "000000010000000200000000");
  CHECK(parse_wal_name("000000010000000000000003.gz", seg)->segno == 3);
  CHECK(parse_wal_name("000000010000000000000003.zst", seg).has_value());
  CHECK(!parse_wal_name("000000010000000000000003.partial", seg));
  CHECK(!parse_wal_name("00000002.history", seg));
  CHECK(!parse_wal_name("000000010000000000000100", seg));  // segment part beyond FF at 16MB
  CHECK(parse_wal_name("000000010000000000000100", 1024 * 1024)->segno == 256);  // 1MB segments
}

TEST_CASE("find_gaps across the log boundary") {
  std::set<uint64_t> present = {254, 255, 257, 260};
  auto gaps = find_gaps(present, 250, 260);
  REQUIRE(gaps.size() == 3);
  CHECK(gaps[0].first == 250);
  CHECK(gaps[0].last == 253);
  CHECK(gaps[1].first == 256);
  CHECK(gaps[1].count() == 1);
  CHECK(gaps[2].first == 258);
  CHECK(gaps[2].last == 259);
  CHECK(find_gaps(present, 254, 255).empty());
}

TEST_CASE("scan_archive_dir reads segments, compressed ones and backup labels") {
  backup_doctor::test::TempDir dir("bd-pg-wal");
  for (const char* name : {"000000010000000000000002", "000000010000000000000003.gz",
                           "000000010000000000000005", "000000010000000000000003.00000028.backup",
                           "000000010000000000000006.partial", "00000002.history", "README"})
    dir.write(name, "x");
  auto scan = scan_archive_dir(dir.path(), kDefaultWalSegmentSize);
  CHECK(scan.error.empty());
  CHECK(scan.files == 7);
  CHECK(scan.segments == std::set<uint64_t>{2, 3, 5});
  REQUIRE(scan.newest_backup_start.has_value());
  CHECK(*scan.newest_backup_start == 3);
  CHECK(scan.newest_timeline == 1);
  CHECK(!scan_archive_dir(dir / "missing", kDefaultWalSegmentSize).error.empty());
}

TEST_CASE("scan_archive_dir counts only regular files and never follows a link") {
  backup_doctor::test::TempDir dir("bd-pg-wal");
  dir.write("000000010000000000000002", "x");
  // A segment that is a link (to a root-only file, say) or a FIFO is not archived.
  std::filesystem::create_symlink("/etc/shadow", dir / "000000010000000000000003");
  REQUIRE(mkfifo((dir / "000000010000000000000004").c_str(), 0644) == 0);
  auto scan = scan_archive_dir(dir.path(), kDefaultWalSegmentSize);
  CHECK(scan.error.empty());
  CHECK(scan.segments == std::set<uint64_t>{2});
  CHECK(scan.not_files == std::vector<std::string>{"000000010000000000000003 (symbolic link)",
                                                   "000000010000000000000004 (FIFO (named pipe))"});
  // The archive directory given as a link another user made is not listed.
  backup_doctor::test::TempDir base("bd-pg-wal-link");
  std::filesystem::create_symlink(dir.path(), base / "archive");
  auto pg = backup_doctor::support::lookup_user("postgres");
  REQUIRE(lchown((base / "archive").c_str(), pg->uid, pg->gid) == 0);
  auto linked = scan_archive_dir(base / "archive" / ".", kDefaultWalSegmentSize);
  CHECK(linked.error.find("symbolic link") != std::string::npos);
}
