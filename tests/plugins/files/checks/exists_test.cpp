#include "fixtures.hpp"

using namespace files_test;

TEST_CASE("files.exists: present directory and file") {
  TempDir t;
  std::filesystem::create_directories(t / "backups/database");
  t.write("backups/database/a.sql.gz", "data");
  t.write("backups/database/b.sql.gz", "more data");

  auto dir = run("files.exists", {{"path", (t / "backups/database").string()}, {"type", "dir"}});
  CHECK(dir.status == Status::ok);
  CHECK(dir.details["entries"] == 2);
  CHECK(dir.details["type"] == "dir");
  REQUIRE(dir.metric("directory_entries"));
  CHECK(dir.metric("directory_entries")->value == 2);

  auto file =
      run("files.exists", {{"path", (t / "backups/database/b.sql.gz").string()}, {"type", "file"}});
  CHECK(file.status == Status::ok);
  CHECK(file.details["size"] == 9);
  CHECK(file.metric("file_size")->value == 9);
}

TEST_CASE("files.exists: missing path names the deepest existing parent") {
  TempDir t;
  std::filesystem::create_directories(t / "backups");
  auto r = run("files.exists", {{"path", (t / "backups/database/x").string()}, {"type", "dir"}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "does not exist"));
  CHECK(r.details["nearest_existing_parent"] == (t / "backups").string());
  CHECK(contains(r.remediation, "install -d"));
}

TEST_CASE("files.exists: wrong type, empty file, empty directory, dangling symlink") {
  TempDir t;
  std::filesystem::create_directories(t / "empty");
  t.write("zero.sql.gz", "");
  auto wrong = run("files.exists", {{"path", (t / "empty").string()}, {"type", "file"}});
  CHECK(wrong.status == Status::fail);
  CHECK(contains(wrong.summary, "is a dir"));

  auto zero = run("files.exists",
                  {{"path", (t / "zero.sql.gz").string()}, {"type", "file"}, {"non_empty", true}});
  CHECK(zero.status == Status::fail);
  CHECK(contains(zero.summary, "empty"));
  // Without non_empty an empty file is fine.
  CHECK(run("files.exists", {{"path", (t / "zero.sql.gz").string()}}).status == Status::ok);

  auto empty_dir =
      run("files.exists", {{"path", (t / "empty").string()}, {"type", "dir"}, {"non_empty", true}});
  CHECK(empty_dir.status == Status::fail);
  CHECK(contains(empty_dir.summary, "empty"));

  std::filesystem::create_symlink(t / "gone", t / "latest");
  auto link = run("files.exists", {{"path", (t / "latest").string()}});
  CHECK(link.status == Status::fail);
  CHECK(link.details["symlink_target"] == (t / "gone").string());
  auto nofollow =
      run("files.exists", {{"path", (t / "latest").string()}, {"follow_symlinks", false}});
  CHECK(nofollow.status == Status::ok);
  CHECK(nofollow.details["type"] == "symlink");
}

TEST_CASE("files.exists: bad type parameter is an error") {
  backup_doctor::files::FilesPlugin plugin;
  auto r = backup_doctor::testing::run_check(plugin, "files.exists",
                                             {{"path", "/tmp"}, {"type", "folder"}});
  CHECK(r.rc == BD_RC_ERROR);
  CHECK(contains(r.error, "type"));
}

TEST_CASE("files.exists: a link root made where only root can change it is followed") {
  TempDir t;
  std::filesystem::create_directories(t / "srv/backups");
  t.write("srv/backups/a.sql.gz", "data");
  std::filesystem::create_symlink(t / "srv/backups", t / "backups");
  auto r = run("files.exists", {{"path", (t / "backups").string()}, {"type", "dir"}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["entries"] == 1);
  CHECK(r.details["resolved_path"] == (t / "srv/backups").string());
}
