// Manifest comparison: the merge is linear after sorting, so a million entries take seconds.
#include "manifest.hpp"

#include <doctest/doctest.h>
#include <chrono>

using namespace backup_doctor::archive;

TEST_CASE("member names are normalised and the prefix stripped") {
  std::string out;
  CHECK(normalize_member("./opt/trixtech/app/a.js", "opt/trixtech", out));
  CHECK(out == "app/a.js");
  CHECK(normalize_member("/opt/trixtech/b", "opt/trixtech", out));
  CHECK(out == "b");
  CHECK_FALSE(normalize_member("opt/trixtech/", "opt/trixtech", out));
  CHECK_FALSE(normalize_member("opt/other/c", "opt/trixtech", out));
  CHECK_FALSE(normalize_member("opt/trixtechx/c", "opt/trixtech", out));
  CHECK(normalize_member("././d/", "", out));
  CHECK(out == "d");
}

TEST_CASE("exclusion globs match relative paths, base names and directories") {
  std::vector<std::string> ex = {"*.log", "cache/*", "tmp"};
  CHECK(excluded("a/b/x.log", ex));
  CHECK(excluded("cache/deep/file", ex));
  CHECK(excluded("tmp", ex));
  CHECK_FALSE(excluded("a/cache.txt", ex));
}

TEST_CASE("every kind of difference, judged against the archive's time") {
  Manifest a, s;
  const int64_t T = 1000;  // archive written
  a.add("same", 10, 500);
  a.add("removed", 5, 500);
  a.add("resized_later", 10, 500);
  a.add("resized_unchanged", 10, 500);
  a.add("touched_later", 10, 500);
  a.add("touched_older", 10, 500);
  a.add("link", 0, 500, Manifest::kHardlink);
  s.add("same", 10, 500);
  s.add("added_later", 1, 1500);
  s.add("missed", 1, 400);
  s.add("resized_later", 20, 1500);
  s.add("resized_unchanged", 20, 600);
  s.add("touched_later", 10, 1500);
  s.add("touched_older", 10, 300);
  s.add("link", 99, 500);
  a.sort();
  s.sort();
  auto c = compare_manifests(a, s, T, 10);
  CHECK(c.matched == 2);
  CHECK(c.removed_since.count == 1);
  CHECK(c.removed_since.items[0].path == "removed");
  CHECK(c.added_since.count == 1);
  CHECK(c.not_in_archive.count == 1);
  CHECK(c.not_in_archive.items[0].path == "missed");
  CHECK(c.changed_since.count == 2);
  CHECK(c.size_mismatch.count == 1);
  CHECK(c.size_mismatch.items[0].path == "resized_unchanged");
  CHECK(c.mtime_mismatch.count == 1);
  CHECK(c.mtime_mismatch.items[0].path == "touched_older");
}

TEST_CASE("duplicates keep the last entry, as extraction does") {
  Manifest a;
  a.add("x", 1, 1);
  a.add("y", 2, 2);
  a.add("x", 3, 3);
  a.sort();
  REQUIRE(a.size() == 2);
  CHECK(a.path(a[0]) == "x");
  CHECK(a[0].size == 3);
}

// Correctness at scale; the speed is measured by bench/, not here (a quadratic comparison would
// still be caught: it would run into the test's timeout).
TEST_CASE("a million entries compare, with lists capped") {
  Manifest a, s;
  const int n = 1'000'000;
  char name[64];
  for (int i = 0; i < n; ++i) {
    // Inserted out of order, as a tree walk and a tar listing produce them.
    int k = static_cast<int>((static_cast<int64_t>(i) * 7919) % n);
    std::snprintf(name, sizeof name, "srv/app/d%03d/sub%02d/file-%07d.dat", k % 997, k % 31, k);
    a.add(name, k, 100);
    s.add(name, k % 100000 == 0 ? k + 1 : k, 100);  // 10 resized
  }
  s.add("srv/app/new-file", 1, 100);
  a.sort();
  s.sort();
  auto c = compare_manifests(a, s, 1000, 5);
  CHECK(c.matched == n - 10);
  CHECK(c.size_mismatch.count == 10);
  CHECK(c.size_mismatch.items.size() == 5);
  CHECK(c.not_in_archive.count == 1);
}
