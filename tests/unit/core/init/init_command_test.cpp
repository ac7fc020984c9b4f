// `backup-doctor init` on a host tree in the runbook's shapes and five others
// (tests/fixtures/init-host): the checklist it writes, what it says, and what that checklist
// finds once faults are planted in the tree.
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace backup_doctor;
using backup_doctor::test::run_bd;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(BD_TEST_SOURCE_DIR) / "tests/fixtures/init-host";
const fs::path kExpected = fs::path(BD_TEST_SOURCE_DIR) / "tests/fixtures/init-host.expected.json";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

void sh(const std::string& script) {
  auto r = support::run_process({"/bin/sh", "-c", script}, {});
  REQUIRE_MESSAGE(r.exit_code == 0, script << ": " << r.err);
}

}  // namespace

TEST_CASE("init --root writes the expected checklist for the runbook-shaped host") {
  auto r = run_bd({"init", "--root", kFixture.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string actual = replace_all(r.out, kFixture.string(), "@ROOT@");
  if (std::getenv("BD_UPDATE_EXPECTED")) std::ofstream(kExpected, std::ios::binary) << actual;
  CHECK(actual == read(kExpected));

  // What it tells the operator: the jobs, what it could not check, the secret to provide.
  CHECK(r.err.find("8 backup jobs") != std::string::npos);
  CHECK(r.err.find(
            "db-backup: /etc/cron.d/backup:4 runs /opt/backup-scripts/db_backup.sh (0 2 * * *)") !=
        std::string::npos);
  CHECK(
      r.err.find("cloud-copy.timer: is not enabled, so its job never runs: systemctl enable --now "
                 "cloud-copy.timer") != std::string::npos);
  CHECK(r.err.find("rclone to remote:trixtech-archive: no check type reads rclone remotes") !=
        std::string::npos);
  CHECK(r.err.find("Set before running: DB_PASSWORD: the password db-backup gives pg_dump "
                   "(/opt/backup-scripts/db_backup.sh:10)") != std::string::npos);
  CHECK(r.err.find("/etc/cron.daily/logrotate:1") != std::string::npos);
}

TEST_CASE("what init writes passes validate, and -o refuses to overwrite without --force") {
  test::TempDir dir("bd-init");
  const std::string out = (dir / "checklist.json").string();
  auto r = run_bd({"init", "--root", kFixture.string(), "-o", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.empty());
  auto v = run_bd({"validate", out});
  CHECK_MESSAGE(v.exit_code == 0, v.out << v.err);

  auto again = run_bd({"init", "--root", kFixture.string(), "-o", out});
  CHECK(again.exit_code == 2);
  CHECK(again.err.find(out + " exists; pass --force to replace it") != std::string::npos);
  CHECK(run_bd({"init", "--root", kFixture.string(), "-o", out, "--force"}).exit_code == 0);
}

TEST_CASE("init on a host without backup jobs writes nothing and says so") {
  test::TempDir dir("bd-init");
  dir.write("etc/cron.daily/man-db", "#!/bin/sh\nmandb --quiet\n");
  auto r = run_bd({"init", "--root", dir.path().string()});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("no backup job found under " + dir.path().string() + "; nothing written") !=
        std::string::npos);
  auto missing = run_bd({"init", "--root", (dir / "nope").string()});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("nope") != std::string::npos);
}

TEST_CASE("the generated checklist finds the faults planted in the host tree") {
  test::TempDir dir("bd-init");
  const fs::path root = dir / "host";
  fs::copy(kFixture, root, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const std::string r = root.string();
  // Database: five good nightly dumps, then last night's, cut short by a full disk.
  sh("set -e; d=" + r + "/opt/backups/database; mkdir -p $d " + r + "/var/log/backup; cd $d; " +
     "for i in 5 4 3 2 1; do head -c 200000 /dev/urandom | base64 | gzip > "
     "trixtech_2026110$i.sql.gz; "
     "touch -d \"$((i + 1)) days ago\" trixtech_2026110$i.sql.gz; sha256sum "
     "trixtech_2026110$i.sql.gz > "
     "trixtech_2026110$i.sql.gz.sha256; done; "
     "head -c 200000 /dev/urandom | base64 | gzip | head -c 4096 > trixtech_20261106.sql.gz; "
     "sha256sum trixtech_20261106.sql.gz > trixtech_20261106.sql.gz.sha256");
  sh("printf '%s\\n' '2026-12-02 02:00:01 Starting backup of trixtech' "
     "'2026-12-02 02:00:09 pg_dump: error: could not write to output file: No space left on "
     "device' > " +
     r + "/var/log/backup/db_backup.log");
  // Files: an archive whose checksum no longer matches; the script lost its execute bit.
  sh("set -e; mkdir -p " + r + "/opt/trixtech " + r + "/opt/backups/files; echo app > " + r +
     "/opt/trixtech/app.conf; cd " + r + "/opt/backups/files; tar -czf latest.tar.gz -C / " +
     r.substr(1) +
     "/opt/trixtech; echo '0000000000000000000000000000000000000000000000000000000000000000  "
     "latest.tar.gz' > "
     "latest.tar.gz.sha256; echo 'Backup completed successfully at today' > " +
     r + "/var/log/backup/files_backup.log; chmod 0644 " + r + "/opt/backup-scripts/db_backup.sh");

  const std::string checklist = (dir / "checklist.json").string();
  auto init = run_bd({"init", "--root", r, "-o", checklist});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  std::vector<std::string> args = {"run", checklist, "-f", "json"};
  for (const char* id : {"db-backup-script-executable", "db-backup-log", "db-backup-dump-fresh",
                         "db-backup-dump-intact", "files-backup-log", "files-backup-archive-intact",
                         "files-backup-archive-matches-source"}) {
    args.push_back("--only");
    args.push_back(id);
  }
  auto run = run_bd(args, {}, std::chrono::seconds(120));
  REQUIRE_MESSAGE(!run.out.empty(), run.err);
  auto report = nlohmann::json::parse(run.out);
  std::map<std::string, std::string> status;
  for (const auto& res : report["results"]) status[res["id"]] = res["status"];
  CHECK(status["db-backup-script-executable"] == "fail");
  CHECK(status["db-backup-log"] == "fail");         // No space left on device
  CHECK(status["db-backup-dump-fresh"] == "warn");  // 4 KiB after five of ~200 KiB
  CHECK(status["db-backup-dump-intact"] == "fail");
  CHECK(status["files-backup-log"] == "ok");
  CHECK(status["files-backup-archive-intact"] == "fail");  // checksum mismatch
  CHECK(run.exit_code == 2);
}

TEST_CASE("passwords in crontabs, scripts and connection strings never reach the checklist") {
  test::TempDir dir("bd-init");
  dir.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbackup:x:34:34::/home/backup:/bin/sh\n");
  dir.write(
      "etc/cron.d/dumps",
      "PGPASSWORD=hunter2-crontab\n"
      "0 1 * * * backup PGPASSWORD=hunter2-line pg_dump -h db1 -U b trix > /srv/dumps/trix.sql\n"
      "0 2 * * * backup /opt/dump.sh\n");
  auto script = dir.write(
      "opt/dump.sh",
      "#!/bin/sh\nPASS='hunter2-script'\nexport PGPASSWORD=\"$PASS\"\n"
      "pg_dump -d 'postgresql://backup:hunter2-uri@db2:5433/shop' -Fc -f /srv/dumps/shop.dump\n"
      "pg_dump 'host=db3 password=hunter2-conninfo dbname=crm' > /srv/dumps/crm.sql\n");
  fs::permissions(script, fs::perms::owner_all);
  auto r = run_bd({"init", "--root", dir.path().string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.err.find("hunter2") == std::string::npos);
  CHECK(r.out.find("postgresql://backup@db2:5433/shop") != std::string::npos);
  CHECK(r.err.find("is a connection string holding a password; its password was left out") !=
        std::string::npos);
  CHECK(r.err.find("Set before running: PGPASSWORD") != std::string::npos);
}

TEST_CASE(
    "a job whose user has a ~/.pgpass connects with that file, PGHOST and PGPORT as the script "
    "sets them") {
  test::TempDir dir("bd-init");
  dir.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbackup:x:34:34::/home/backup:/bin/sh\n");
  dir.write("home/backup/.pgpass", "db9:6432:*:backup:not-read-by-init\n");
  dir.write("etc/cron.d/dump", "0 4 * * * backup PGHOST=db9 /opt/dump.sh\n");
  auto script = dir.write("opt/dump.sh",
                          "#!/bin/sh\nexport PGPORT=6432\npg_dump -Fc -f /srv/d/app.dump app\n");
  fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  auto r = run_bd({"init", "--root", dir.path().string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto cl = nlohmann::json::parse(r.out);
  CHECK(cl["vars"]["dump_db_passfile"] == (dir / "home/backup/.pgpass").string());
  CHECK(cl["vars"]["dump_db_host"] == "db9");
  CHECK(cl["vars"]["dump_db_port"] == "6432");
  CHECK(cl["vars"]["dump_db_name"] == "app");
  CHECK(r.out.find("not-read-by-init") == std::string::npos);
  CHECK(r.out.find("\"secret\"") == std::string::npos);
  CHECK(r.err.find("Set before running") == std::string::npos);
}
