// archive.compare_source on a real tree archived by GNU tar, then changed in every way.
#include "fixtures.hpp"

#include <ctime>

using namespace archive_test;

namespace {

struct Fixture {
  TempDir dir{"bd-archive-compare"};
  fs::path src, archive;
  int64_t archive_time = 0;
  Fixture(const std::string& tar_command = "tar -czf backup.tar.gz -C . opt/trixtech") {
    src = dir / "opt/trixtech";
    make_tree(src, 20);
    // Every file is older than the archive, the archive older than now.
    int64_t now = std::time(nullptr);
    for (auto& e : fs::recursive_directory_iterator(src))
      if (e.is_regular_file()) set_mtime(e.path(), now - 7200);
    sh(tar_command, dir.path().string());
    archive = dir / "backup.tar.gz";
    archive_time = now - 3600;
    set_mtime(archive, archive_time);
  }
  backup_doctor::testing::Result compare(nlohmann::json extra = {}) const {
    nlohmann::json p = {{"path", archive.string()}, {"source", src.string()}};
    for (auto& [k, v] : extra.items()) p[k] = v;
    return run("archive.compare_source", p);
  }
};

}  // namespace

TEST_CASE("an unchanged tree matches its archive, whatever prefix tar stored") {
  for (std::string cmd :
       {"tar -czf backup.tar.gz -C . opt/trixtech", "tar -czf backup.tar.gz -C opt/trixtech .",
        "tar -czf backup.tar.gz -C opt trixtech"}) {
    CAPTURE(cmd);
    Fixture f(cmd);
    auto r = f.compare();
    CHECK(r.status == Status::ok);
    CHECK(r.details["matched"] == 20);
    CHECK(r.details["source_files"] == 20);
    CHECK(r.details["archive_files"] == 20);
  }
  // The guide's form: an absolute source path, stored without its leading slash.
  Fixture f;
  auto r = run("archive.compare_source", {{"path", f.archive.string()},
                                          {"source", f.src.string() + "/"},
                                          {"archive_prefix", "./opt/trixtech/"}});
  CHECK(r.status == Status::ok);
}

TEST_CASE("added, removed, resized and modified since the archive: reported, warn") {
  Fixture f;
  int64_t now = std::time(nullptr);
  write_file(f.src / "dir0/added.txt", "new");                   // added since
  fs::remove(f.src / "dir1/sub/file1.log");                      // removed since
  write_file(f.src / "dir1/sub/file5.log", "now much shorter");  // resized since (mtime now)
  {
    std::string same = read_file(f.src / "dir3/sub/file7.log");
    same[0] = same[0] == 'x' ? 'y' : 'x';
    write_file(f.src / "dir3/sub/file7.log", same);  // modified since, same size
  }
  // The added file is not in any backup yet: a finding whatever the share of the tree.
  auto r = f.compare({{"warn_changed_percent", 50}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary == "20 source files vs 20 in " + f.archive.string() +
                         ": 1 file added since the archive was written is not in it yet: "
                         "dir0/added.txt");
  CHECK(r.remediation.find("run the backup job now") != std::string::npos);
  CHECK(r.details["missing_from_archive"]["count"] == 1);
  CHECK(r.details["missing_from_archive"]["items"] == nlohmann::json{"dir0/added.txt"});
  CHECK(r.metric("archive_compare_added_since")->value == 1);
  CHECK(r.details["added_since"]["count"] == 1);
  CHECK(r.details["added_since"]["items"][0]["path"] == "dir0/added.txt");
  CHECK(r.details["removed_since"]["count"] == 1);
  CHECK(r.details["removed_since"]["items"][0]["path"] == "dir1/sub/file1.log");
  CHECK(r.details["changed_since"]["count"] == 2);
  CHECK(r.details["not_in_archive"]["count"] == 0);
  CHECK(r.details["size_mismatch"]["count"] == 0);
  CHECK(r.details["matched"] == 17);
  // 4 changes among 20 files is 20%: above a 10% threshold the archive is stale.
  r = f.compare({{"warn_changed_percent", 10}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("changed since the archive was written") != std::string::npos);
  CHECK(r.summary.find("not in it yet: dir0/added.txt") != std::string::npos);
  // Removed and changed files alone are churn: ok below the threshold.
  fs::remove(f.src / "dir0/added.txt");
  r = f.compare({{"warn_changed_percent", 50}});
  CHECK(r.status == Status::ok);
  CHECK(r.summary == "19 source files vs 20 in " + f.archive.string() +
                         ": 17 match; 1 removed, 2 changed since the archive was written");
  (void)now;
}

TEST_CASE("files the backup missed and copies it got wrong fail") {
  Fixture f;
  int64_t old = f.archive_time - 86400;
  write_file(f.src / "dir0/missed.dat", "was there before the backup");
  set_mtime(f.src / "dir0/missed.dat", old);
  write_file(f.src / "dir1/sub/file5.log", "different size, yet not modified since");
  set_mtime(f.src / "dir1/sub/file5.log", old);
  auto r = f.compare();
  CHECK(r.status == Status::fail);
  CHECK(r.details["not_in_archive"]["count"] == 1);
  CHECK(r.details["not_in_archive"]["items"][0]["path"] == "dir0/missed.dat");
  CHECK(r.details["size_mismatch"]["count"] == 1);
  CHECK(r.details["size_mismatch"]["items"][0]["path"] == "dir1/sub/file5.log");
  CHECK(r.remediation.find("dir0/missed.dat") != std::string::npos);
  CHECK(r.metric("archive_compare_not_in_archive")->value == 1);
  CHECK(r.summary == "21 source files vs 20 in " + f.archive.string() +
                         ": 1 file older than the archive is not in it: dir0/missed.dat; 1 file "
                         "with a different size in the archive although unchanged since "
                         "(dir1/sub/file5.log)");
  // Tolerated (set explicitly): still a finding, a warning naming the file.
  r = f.compare({{"max_not_in_archive", 1}, {"exclude", {"file5.log"}}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary == "20 source files vs 19 in " + f.archive.string() +
                         ": 1 file older than the archive is not in it (within "
                         "max_not_in_archive 1): dir0/missed.dat");
  CHECK(r.remediation.find("lower the tolerance") != std::string::npos);
  // Excluded on purpose: nothing is missing.
  r = f.compare({{"exclude", {"file5.log", "missed.dat"}}});
  CHECK(r.status == Status::ok);
}

TEST_CASE("missing files: the first five are named in the summary, all are counted") {
  Fixture f;
  int64_t old = f.archive_time - 86400;
  for (int i = 0; i < 7; ++i) {
    fs::path p = f.src / ("dir0/missed" + std::to_string(i) + ".dat");
    write_file(p, "skipped by the backup");
    set_mtime(p, old);
  }
  write_file(f.src / "dir2/new.dat", "written after the archive");
  // Missing files are few next to the tree (8 of 28) and under the churn threshold: still fail.
  auto r = f.compare({{"max_items", 6}});
  CHECK(r.status == Status::fail);
  CHECK(r.summary == "28 source files vs 20 in " + f.archive.string() +
                         ": 7 files older than the archive are not in it: dir0/missed0.dat, "
                         "dir0/missed1.dat, dir0/missed2.dat, dir0/missed3.dat, "
                         "dir0/missed4.dat and 2 more; 1 file added since the archive was "
                         "written is not in it yet: dir2/new.dat");
  CHECK(r.details["not_in_archive"]["count"] == 7);
  CHECK(r.details["not_in_archive"]["items"].size() == 6);
  CHECK(r.details["missing_from_archive"]["count"] == 8);
  CHECK(r.details["missing_from_archive"]["items"].size() == 6);
  CHECK(r.metric("archive_compare_not_in_archive")->value == 7);
  // Fewer kept than five: the rest is still counted in the text.
  r = f.compare({{"max_items", 2}});
  CHECK(r.summary.find(": dir0/missed0.dat, dir0/missed1.dat and 5 more;") != std::string::npos);
}

TEST_CASE("same size, older different time: warns") {
  Fixture f;
  set_mtime(f.src / "dir3/sub/file7.log", f.archive_time - 90000);
  auto r = f.compare();
  CHECK(r.status == Status::warn);
  CHECK(r.details["mtime_mismatch"]["count"] == 1);
  CHECK(r.remediation.find("cmp") != std::string::npos);
}

TEST_CASE("a damaged archive cannot be compared fully") {
  Fixture f;
  truncate_copy(f.archive, f.dir / "cut.tar.gz", fs::file_size(f.archive) / 2);
  auto r = run("archive.compare_source",
               {{"path", (f.dir / "cut.tar.gz").string()}, {"source", f.src.string()}});
  CHECK(r.status == Status::fail);
  CHECK(r.details["partial"] == true);
  CHECK(r.details["damage"]["kind"] == "truncated");
}

TEST_CASE("a wrong prefix is an error, a missing source an error") {
  Fixture f;
  auto r = f.compare({{"archive_prefix", "srv/elsewhere"}});
  CHECK(r.status == Status::error);
  backup_doctor::archive::ArchivePlugin plugin;
  auto e = backup_doctor::testing::run_check(
      plugin, "archive.compare_source",
      {{"path", f.archive.string()}, {"source", (f.dir / "nope").string()}});
  CHECK(e.rc == BD_RC_ERROR);
  CHECK(e.error.find("not a directory") != std::string::npos);
}
