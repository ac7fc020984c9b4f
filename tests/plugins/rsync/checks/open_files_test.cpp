#include "open_files.hpp"
#include "fixtures.hpp"
#include "rsync_plugin.hpp"

#include <backup_doctor/testing.hpp>

using backup_doctor::rsync::RsyncPlugin;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;
using nlohmann::json;
using namespace rsync_test;

TEST_CASE("fdinfo access modes") {
  using backup_doctor::rsync::fdinfo_access_mode;
  CHECK(fdinfo_access_mode("pos:\t0\nflags:\t0100000\nmnt_id:\t29\n") == O_RDONLY);
  CHECK(fdinfo_access_mode("pos:\t0\nflags:\t02102001\nmnt_id:\t29\n") == O_WRONLY);
  CHECK(fdinfo_access_mode("pos:\t0\nflags:\t0100002\n") == O_RDWR);
  CHECK(fdinfo_access_mode("pos:\t0\n") == -1);
}

TEST_CASE("rsync.open_files: a file being written under the source") {
  Sandbox box;
  fs::path src = box.dir("src");
  box.dir("src/db");
  box.write("src/quiet.txt", "nobody writes me");
  box.write("src/reader.txt", "only read");
  FileHolder writer(src / "db" / "data.db", O_RDWR, "bd-dbwriter");
  FileHolder reader(src / "reader.txt", O_RDONLY, "bd-reader");
  FileHolder outside(box.path() / "elsewhere.log", O_WRONLY | O_APPEND, "bd-outside");
  RsyncPlugin plugin;
  auto r = run_check(plugin, "rsync.open_files", {{"source", src.string() + "/"}});
  CHECK(r.status == Status::warn);
  REQUIRE(r.details["open_for_writing_count"] == 1);
  const json& f = r.details["open_for_writing"][0];
  CHECK(f["pid"] == writer.pid());
  CHECK(f["process"] == "bd-dbwriter");
  CHECK(f["path"] == (src / "db" / "data.db").string());
  CHECK(f["access"] == "read-write");
  CHECK(r.summary.find("bd-dbwriter (pid " + std::to_string(writer.pid()) + ") writing " +
                       (src / "db" / "data.db").string()) != std::string::npos);
  CHECK(r.remediation.find("snapshot") != std::string::npos);
  CHECK(r.remediation.find("--exclude=data.db") != std::string::npos);
  REQUIRE(r.metric("open_for_writing_files"));
  CHECK(r.metric("open_for_writing_files")->value == 1);
}

TEST_CASE("rsync.open_files: write-only appenders, ignore list, quiet tree") {
  Sandbox box;
  fs::path src = box.dir("src");
  RsyncPlugin plugin;
  {
    auto r = run_check(plugin, "rsync.open_files", {{"source", src.string()}});
    CHECK(r.status == Status::ok);
    CHECK(r.details["processes_scanned"].get<int>() > 1);
  }
  FileHolder logger(src / "app.log", O_WRONLY | O_APPEND, "bd-logger");
  {
    auto r = run_check(plugin, "rsync.open_files", {{"source", {src.string()}}});
    CHECK(r.status == Status::warn);
    CHECK(r.details["open_for_writing"][0]["access"] == "write");
  }
  {
    auto r = run_check(plugin, "rsync.open_files",
                       {{"source", src.string()}, {"ignore_processes", {"bd-logger"}}});
    CHECK(r.status == Status::ok);
    CHECK(r.details["ignored_count"] == 1);
  }
}

TEST_CASE("rsync.open_files: missing source is an error") {
  RsyncPlugin plugin;
  auto r = run_check(plugin, "rsync.open_files", {{"source", "/nonexistent/bd/src"}});
  CHECK(r.status == Status::error);
}

TEST_CASE("rsync.open_files: a link root made is followed, one another account made is not") {
  Sandbox box;
  fs::path src = box.dir("src");
  FileHolder writer(src / "data.db", O_RDWR, "bd-linkwriter");
  fs::create_symlink(src, box.path() / "current");
  RsyncPlugin plugin;
  auto r = run_check(plugin, "rsync.open_files", {{"source", (box.path() / "current").string()}});
  CHECK(r.status == Status::warn);
  CHECK(r.details["open_for_writing_count"] == 1);

  fs::path theirs = box.dir("theirs");
  chown_to(theirs, test_user());
  REQUIRE(::symlink(src.c_str(), (theirs / "current").c_str()) == 0);
  REQUIRE(::lchown((theirs / "current").c_str(), test_user().uid, test_user().gid) == 0);
  auto refused = run_check(plugin, "rsync.open_files", {{"source", (theirs / "current").string()}});
  CHECK(refused.status == Status::error);
  CHECK(refused.summary.find("was not scanned") != std::string::npos);
  CHECK(refused.details["refused_sources"][0]["path"] == (theirs / "current").string());
}
