#include "fixtures.hpp"
#include "rsync_plugin.hpp"

#include <backup_doctor/testing.hpp>

using backup_doctor::rsync::RsyncPlugin;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;
using nlohmann::json;
using namespace rsync_test;

namespace {

struct PathsFixture {
  Sandbox box;
  UserIds user = test_user();
  fs::path src = box.dir("src");
  fs::path dst = box.dir("dst");
  RsyncPlugin plugin;
  PathsFixture() {
    box.write("src/a.txt", std::string(5000, 'a'));
    box.write("src/sub/b.txt", std::string(3000, 'b'));
    chmod_to(src / "sub", 0755);
    chown_to(dst, user);
  }
  json params() const {
    return {{"source", src.string() + "/"},
            {"destination", dst.string() + "/"},
            {"backup_user", user.name}};
  }
};

}  // namespace

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: healthy source and destination") {
  auto r = run_check(plugin, "rsync.paths", params());
  CHECK(r.status == Status::ok);
  CHECK(r.summary.find("readable") != std::string::npos);
  CHECK(r.details["source"]["readable"] == true);
  CHECK(r.details["destination"]["writable"] == true);
  CHECK(r.details["space"]["source_bytes"] == 8000);
  CHECK(r.details["space"]["source_files"] == 2);
  REQUIRE(r.metric("source_size"));
  CHECK(r.metric("source_size")->value == 8000);
  CHECK(r.metric("source_size")->unit == "bytes");
  REQUIRE(r.metric("destination_free"));
  CHECK(r.metric("destination_free")->value > 0);
  CHECK(r.metric("destination_required")->value == doctest::Approx(8800));
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: missing source") {
  json p = params();
  p["source"] = (box.path() / "gone" / "data").string() + "/";
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("does not exist") != std::string::npos);
  CHECK(r.details["source"]["exists"] == false);
  CHECK(r.details["source"]["nearest_existing_parent"] == box.path().string());
  CHECK(r.remediation.find("findmnt --target " + box.path().string()) != std::string::npos);
  CHECK_FALSE(r.details.contains("space"));  // nothing to measure
}

TEST_CASE_FIXTURE(PathsFixture,
                  "rsync.paths: missing destination gets an install -d for the backup user") {
  json p = params();
  p["destination"] = (box.path() / "newdst").string();
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["destination"]["exists"] == false);
  CHECK(r.remediation.find("install -d -o backup-doctor-test -g backup-doctor-test") !=
        std::string::npos);
  CHECK(r.remediation.find((box.path() / "newdst").string()) != std::string::npos);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: destination not writable by the backup user") {
  chown_to(dst, {"root", 0, 0, "/root"});
  auto r = run_check(plugin, "rsync.paths", params());
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("not writable by user 'backup-doctor-test'") != std::string::npos);
  CHECK(r.summary.find("Permission denied") != std::string::npos);
  CHECK(r.details["destination"]["writable"] == false);
  CHECK(r.remediation.find("owned by root:root, mode 0755") != std::string::npos);
  CHECK(r.remediation.find("chown backup-doctor-test:backup-doctor-test " + dst.string() + "/") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: the same tree is fine for root") {
  chown_to(dst, {"root", 0, 0, "/root"});
  json p = params();
  p.erase("backup_user");  // runs as root: root may write anywhere
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::ok);
  CHECK(r.details["backup_user"] == "root");
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: source not readable by the backup user") {
  chmod_to(src, 0700);
  auto r = run_check(plugin, "rsync.paths", params());
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("Source") != std::string::npos);
  CHECK(r.summary.find("not readable") != std::string::npos);
  CHECK(r.remediation.find("setfacl -R -m u:backup-doctor-test:rX") != std::string::npos);
  CHECK_FALSE(r.details.contains("space"));
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: a closed directory on the way is named") {
  fs::path deep = box.dir("closed/inner/data");
  chmod_to(box.path() / "closed", 0700);
  json p = params();
  p["source"] = deep.string();
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["source"]["blocked_by"] == (box.path() / "closed").string());
  CHECK(r.summary.find("may not enter " + (box.path() / "closed").string()) != std::string::npos);
  CHECK(r.remediation.find("setfacl -m u:backup-doctor-test:x") != std::string::npos);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: not enough room for the source plus margin") {
  json p = params();
  p["space_margin_percent"] = 1e15;  // 8000 bytes * 1e13 = 80 PB does not fit here
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("free but the sync needs") != std::string::npos);
  CHECK(r.remediation.find("Free at least") != std::string::npos);
  CHECK(r.details["space"]["required_bytes"].get<double>() > 1e16);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: incremental counts only the growth") {
  box.write("dst/a.txt", std::string(5000, 'a'));
  json p = params();
  p["incremental"] = true;
  p["space_margin_percent"] = 0;
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::ok);
  // 8000 source - 5000 already there + 5000 largest file
  CHECK(r.details["space"]["required_bytes"] == 8000);
  CHECK(r.details["space"]["destination_bytes"] == 5000);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: destination inside the source") {
  fs::path inner = box.dir("src/backup");
  chown_to(inner, user);
  json p = params();
  p["destination"] = inner.string();
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("inside the source") != std::string::npos);
  CHECK(r.remediation.find("--exclude=/backup") != std::string::npos);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: source that is a file, remote destination") {
  json p = params();
  p["source"] = (src / "a.txt").string();
  p["destination"] = "backup@nas:/srv/backup/";
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("is a regular file, not a directory") != std::string::npos);
  CHECK(r.details["destination"]["remote"] == true);
}

TEST_CASE_FIXTURE(PathsFixture, "rsync.paths: unknown backup user is an error") {
  json p = params();
  p["backup_user"] = "no-such-user-bd";
  auto r = run_check(plugin, "rsync.paths", p);
  CHECK(r.rc != BD_RC_OK);
  CHECK(r.error.find("no-such-user-bd") != std::string::npos);
}
