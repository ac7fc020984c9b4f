// archive.leftovers in backup directories littered the way interrupted jobs litter them.
#include "fixtures.hpp"

#include <ctime>

using namespace archive_test;

TEST_CASE("clean backup directories are ok") {
  TempDir dir("bd-archive-left");
  write_file(dir / "files/a.tar.gz", "x");
  write_file(dir / "files/a.tar.gz.sha256", "y");
  write_file(dir / "database/db.sql.gz", "z");
  write_file(dir / "database/db.sql.gz.sha256", "w");
  auto r = run("archive.leftovers",
               {{"paths", {(dir / "files").string(), (dir / "database").string()}}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["files_scanned"] == 4);
}

TEST_CASE("temporary files, zero-length archives, missing and orphan checksums") {
  TempDir dir("bd-archive-left");
  int64_t old = std::time(nullptr) - 86400;
  auto put = [&](const std::string& rel, const std::string& content, bool is_old = true) {
    write_file(dir / rel, content);
    if (is_old) set_mtime(dir / rel, old);
  };
  put("files/good.tar.gz", "archive");
  put("files/good.tar.gz.sha256", "sum");
  put("files/backup.tmp", std::string(1000, 'x'));           // tar -czf backup.tmp interrupted
  put("files/fresh.tmp", "being written", false);            // a running job: too recent
  put("files/.latest.tar.gz.a1B2c3", std::string(10, 'r'));  // rsync's temporary name
  put("files/empty.tar.gz", "");
  put("files/nosum.tar.gz", "archive without checksum");
  put("files/gone.tar.gz.sha256", "sum of a rotated archive");
  put("database/db.sql.gz", "no checksums in this directory at all");
  auto r = run("archive.leftovers",
               {{"paths", {(dir / "files").string(), (dir / "database").string()}}});
  CHECK(r.status == Status::fail);  // the zero-length archive
  CHECK(r.details["temporary_files"]["count"] == 2);
  CHECK(r.details["temporary_files"]["bytes"] == 1010);
  CHECK(r.details["zero_length_archives"]["count"] == 1);
  CHECK(r.details["zero_length_archives"]["items"][0]["path"] ==
        (dir / "files/empty.tar.gz").string());
  // auto: only where other archives have a checksum (files/, not database/)
  CHECK(r.details["archives_without_checksum"]["count"] == 1);
  CHECK(r.details["archives_without_checksum"]["items"][0]["path"] ==
        (dir / "files/nosum.tar.gz").string());
  CHECK(r.details["orphan_checksums"]["count"] == 1);
  CHECK(r.remediation.find("rm -- " + (dir / "files/empty.tar.gz").string()) != std::string::npos);
  CHECK(r.remediation.find("fuser") != std::string::npos);
  CHECK(r.metric("archive_leftover_temporary_files")->value == 2);

  fs::remove(dir / "files/empty.tar.gz");
  r = run("archive.leftovers", {{"paths", {(dir / "files").string(), (dir / "database").string()}},
                                {"require_checksum", "always"}});
  CHECK(r.status == Status::warn);
  CHECK(r.details["archives_without_checksum"]["count"] == 2);
  r = run("archive.leftovers", {{"paths", {(dir / "files").string()}}, {"min_age", "2d"}});
  CHECK(r.status == Status::ok);  // everything is younger than two days
}

TEST_CASE("a missing backup directory") {
  TempDir dir("bd-archive-left");
  auto r = run("archive.leftovers", {{"paths", {(dir / "nope").string()}}});
  CHECK(r.status == Status::fail);
}
