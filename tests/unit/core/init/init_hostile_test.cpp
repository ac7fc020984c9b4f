// `backup-doctor init` runs as root over scripts, crontabs and logs the backup account writes:
// what that account writes must not hang, crash or exhaust init, leak a secret into what it
// prints, or steer the checklist into reading as root what the account could not read.
#include "init/checklist_builder.hpp"
#include "init/host_files.hpp"
#include "init/schedule.hpp"
#include "init/shell_expand.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace backup_doctor;
using backup_doctor::test::run_bd;
namespace fs = std::filesystem;

namespace {

// A host whose one cron job, as `backup`, runs /opt/x.sh holding `script`.
void plant(const test::TempDir& dir, const std::string& script,
           const std::string& crontab = "0 2 * * * backup /opt/x.sh\n") {
  dir.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbackup:x:34:34::/home/backup:/bin/sh\n");
  dir.write("etc/cron.d/backup", crontab);
  fs::permissions(dir.write("opt/x.sh", "#!/bin/sh\n" + script), fs::perms::owner_all);
}

support::ProcessResult init_in(const test::TempDir& dir) {
  return run_bd({"init", "--root", dir.path().string()}, {}, std::chrono::seconds(30));
}

void survives(const support::ProcessResult& r) {
  CHECK_MESSAGE(!r.timed_out, "init hung");
  CHECK_MESSAGE(r.signal == 0, "init was killed by signal " << r.signal);
  CHECK_MESSAGE((r.exit_code == 0 || r.exit_code == 2), r.err.substr(0, 2000));
}

// Run as root, the files planted are root's, and root may write anything: they are given to
// the backup account (uid 34) instead. As anyone else, they are that user's already.
void give_to_backup(const fs::path& p) {
  if (geteuid() == 0) REQUIRE(::chown(p.c_str(), 34, 34) == 0);
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("hostile init: a script that runs itself through sh -c does not recurse forever") {
  test::TempDir dir("bd-init");
  plant(dir, "C='sh -c \"$C\"'\nsh -c \"$C\"\npg_dump db > /srv/db.sql\n");
  survives(init_in(dir));
}

TEST_CASE("hostile init: a variable doubled again and again does not exhaust memory") {
  test::TempDir dir("bd-init");
  plant(dir, "A=xxxxxxxxxxxxxxxx\n" + repeat("A=\"$A$A\"\n", 64) + "pg_dump db > /srv/$A.sql\n");
  survives(init_in(dir));
}

TEST_CASE("hostile init: deeply nested expansions neither overflow the stack nor take forever") {
  test::TempDir dir("bd-init");
  const size_t n = 200000;
  SUBCASE("${X:-${X:-...}}") {
    plant(dir,
          "D=" + repeat("${X:-", n) + "/srv" + repeat("}", n) + "\npg_dump db > \"$D/db.sql\"\n");
  }
  SUBCASE("$(date $(date ...))") {
    plant(dir, "D=" + repeat("$(date ", n) + "+%F" + repeat(")", n) +
                   "\npg_dump db > \"/srv/$D.sql\"\n");
  }
  SUBCASE("$( ( { nested") {
    plant(dir, "D=" + repeat("$( ( { ", n) + "\npg_dump db > /srv/db.sql\n");
  }
  survives(init_in(dir));
}

TEST_CASE(
    "hostile init: scripts that source each other under many names are read a bounded "
    "number of times") {
  test::TempDir dir("bd-init");
  // Every spelling of its own path is a new file to a naive cycle check: 40^8 reads.
  std::string self;
  for (int i = 0; i < 40; ++i) self += ". /opt/" + repeat("./", static_cast<size_t>(i)) + "x.sh\n";
  plant(dir, self + "pg_dump db > /srv/db.sql\n");
  auto r = init_in(dir);
  survives(r);
  CHECK(r.err.size() < 200000);
}

TEST_CASE("hostile init: a crontab of a hundred thousand entries is bounded") {
  test::TempDir dir("bd-init");
  plant(dir, "pg_dump db > /srv/db.sql\n", repeat("* * * * * backup /opt/x.sh\n", 100000));
  auto r = init_in(dir);
  survives(r);
  CHECK(r.out.size() < (8u << 20));
}

TEST_CASE(
    "hostile init: cron fields and timer spans that are not numbers are not understood, "
    "never thrown") {
  for (const char* e : {"1- * * * *", ", * * * *", "-5 * * * *", "*/ * * * *", "0 2 * * 1-"})
    CHECK_MESSAGE(!init::cron_schedule(e).longest_gap, e);
  CHECK(!init::calendar_schedule("*-*-* ..:00").longest_gap);
  test::TempDir dir("bd-init");
  plant(dir, "pg_dump db > /srv/db.sql\n", "1, 2 * * * backup /opt/x.sh\n");
  dir.write("etc/systemd/system/t.timer", "[Timer]\nOnUnitActiveSec=.\n");
  dir.write("etc/systemd/system/t.service", "[Service]\nExecStart=/opt/x.sh\n");
  auto r = init_in(dir);
  survives(r);
  CHECK(r.exit_code == 0);
}

TEST_CASE(
    "hostile init: secrets in variables, substitutions and mistyped crontab lines are never "
    "printed") {
  test::TempDir dir("bd-init");
  plant(dir,
        ". /opt/conf\n"
        "FILE=\"$(sshpass -p hunter2-subst ssh vault cat name)\"\n"
        "pg_dump db > \"$FILE\"\n"
        "pg_dump db > \"$(sshpass -p hunter2-direct ssh vault cat name)\"\n"
        "pg_dump db > \"/srv/$API_TOKEN/db.sql\"\n"
        "tar czf \"/srv/files/${DB_PASS:-hunter2-default}.tgz\" /etc\n"
        "echo \"Backup completed successfully with $DB_PASSWORD\" >> /var/log/x.log\n",
        "export MYSQL_PWD=hunter2-crontab\n0 2 * * * backup /opt/x.sh\n");
  dir.write("opt/conf", "DB_PASSWORD=hunter2-conf\nAPI_TOKEN=hunter2-token\nDB_PASS=\n");
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.err.find("hunter2") == std::string::npos);
  CHECK(r.err.find("$(sshpass ...)") != std::string::npos);
}

TEST_CASE("hostile init: '${' in what the host holds stays text in the checklist") {
  test::TempDir dir("bd-init");
  plant(dir,
        "D='/srv/${env:AWS_SECRET_ACCESS_KEY}'\n"
        "pg_dump db > \"$D/db.sql\"\n"
        "'${env:AWS_SECRET_ACCESS_KEY}' --now\n"
        "rsync -a '--exclude=${env:AWS_SECRET_ACCESS_KEY}' /srv/a/ /srv/b/\n");
  const std::string out = (dir / "checklist.json").string();
  auto r = run_bd({"init", "--root", dir.path().string(), "-o", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto v = run_bd({"validate", out});  // AWS_SECRET_ACCESS_KEY is not set: nothing may read it
  CHECK_MESSAGE(v.exit_code == 0, v.out << v.err);
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("/srv/$${env:AWS_SECRET_ACCESS_KEY}\"") != std::string::npos);
  CHECK(text.find("\"--exclude=$${env:AWS_SECRET_ACCESS_KEY}\"") != std::string::npos);
  CHECK(text.find("\"$${env:AWS_SECRET_ACCESS_KEY}\"") != std::string::npos);
}

TEST_CASE("hostile init: a success line with regex characters is matched as written") {
  test::TempDir dir("bd-init");
  plant(dir,
        "exec >> /var/log/x.log 2>&1\npg_dump db > /srv/db.sql\n"
        "echo 'Backup finished (all ok) | next: tomorrow'\n");
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto cl = nlohmann::json::parse(r.out);
  CHECK(cl["vars"]["x_success_marker"] == "Backup finished \\(all ok\\) \\| next: tomorrow");
}

TEST_CASE("hostile init: a log the script's owner cannot write is not scanned as root") {
  test::TempDir dir("bd-init");
  plant(dir, "exec >> /etc/shadow 2>&1\npg_dump db > /srv/db.sql\n");
  fs::permissions(dir.write("etc/shadow", "root:$6$hash:19000::::::\n"), fs::perms::owner_read);
  give_to_backup(dir / "opt/x.sh");  // as root, the script is the backup account's
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("files.log_scan") == std::string::npos);
  CHECK(r.err.find("/etc/shadow, which the owner of /opt/x.sh cannot write") != std::string::npos);

  // The job's real log, which its account writes, is scanned.
  test::TempDir ok("bd-init");
  plant(ok, "exec >> /var/log/x.log 2>&1\npg_dump db > /srv/db.sql\n");
  give_to_backup(ok.write("var/log/x.log", "started\n"));
  give_to_backup(ok / "opt/x.sh");
  auto good = init_in(ok);
  CHECK(good.out.find("files.log_scan") != std::string::npos);
}

TEST_CASE(
    "hostile init: a dump written to a path that is unknown from its start is not looked "
    "for in the working directory") {
  test::TempDir dir("bd-init");
  plant(dir, "pg_dump db > \"$OUT\"\ntar czf \"$(mktemp)\" /etc\n");
  auto r = init_in(dir);
  CHECK(r.out.find("files.freshness") == std::string::npos);
  CHECK(r.out.find("/home/backup") == std::string::npos);
  CHECK(r.err.find("pg_dump writes to '*', a directory init cannot work out ($OUT)") !=
        std::string::npos);
}

TEST_CASE("hostile init: a script does not make init read, as root, what its owner cannot") {
  test::TempDir dir("bd-init");
  plant(dir, ". /root/.pgpass\npg_dump db > /srv/db.sql\n");
  const fs::path pgpass = dir.write("root/.pgpass", "db1:5432:*:backup:hunter2-pgpass\n");
  give_to_backup(dir / "opt/x.sh");
  // As root, it stays root's; as anyone else, the script's owner (that user) must not read it.
  fs::permissions(pgpass, geteuid() == 0 ? fs::perms::owner_read : fs::perms::owner_write);
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.err.find("hunter2") == std::string::npos);
  if (geteuid() == 0)
    CHECK(r.err.find("/root/.pgpass is a file the owner of /opt/x.sh cannot read") !=
          std::string::npos);
}

TEST_CASE(
    "hostile init: the rsync dry run runs as the account the rsync runs as, never as root on "
    "a script's word") {
  test::TempDir dir("bd-init");
  plant(dir, "sudo -u root rsync -a /srv/a/ /srv/b/\n",
        "0 2 * * * backup /opt/x.sh\n0 3 * * * root /opt/y.sh\n");
  fs::permissions(dir.write("opt/y.sh",
                            "#!/bin/sh\npg_dump db > /srv/db.sql\n"
                            "sudo -u backup rsync -a /srv/c/ /srv/d/\n"),
                  fs::perms::owner_all);
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto cl = nlohmann::json::parse(r.out);
  std::map<std::string, std::string> run_as;
  for (const auto& c : cl["checks"])
    if (c["use"] == "rsync.dry_run") {
      const std::string ref = c["with"].value("run_as", "");
      run_as[c["id"]] = ref.size() > 3 ? cl["vars"][ref.substr(2, ref.size() - 3)] : "";
    }
  CHECK(run_as["x-rsync-dry-run"] == "backup");
  CHECK(run_as["y-rsync-dry-run"] == "backup");
}

TEST_CASE(
    "hostile init: control characters and bytes that are not UTF-8 neither reach the "
    "terminal nor stop init") {
  test::TempDir dir("bd-init");
  plant(dir, ". \"/opt/\x1b]0;owned\x07\x1b[2J\"\ntar czf \"/srv/\xff\xfe/a.tgz\" /etc\n" +
                 std::string("\xff\0tool\n", 7) + "pg_dump db > /srv/" + std::string("\0", 1) +
                 "\xff.sql\n");
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find("\\x1b]0;owned") != std::string::npos);
  CHECK(nlohmann::json::accept(r.out));
}

TEST_CASE("hostile init: many commands on a long PATH are looked up a bounded number of times") {
  test::TempDir dir("bd-init");
  std::string path = "PATH=";
  for (int i = 0; i < 1300; ++i) path += "/n" + std::to_string(i) + ":";
  std::string commands;
  for (int i = 0; i < 200000; ++i) commands += "c" + std::to_string(i) + "\n";
  plant(dir, path + "\n" + commands + "pg_dump db > /srv/db.sql\n");
  const auto start = std::chrono::steady_clock::now();
  survives(init_in(dir));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
}

TEST_CASE(
    "hostile init: keys in rclone remotes, S3 endpoints and archive_command are not printed") {
  test::TempDir dir("bd-init");
  plant(dir,
        "rclone copy /srv/a ':s3,access_key_id=AK,secret_access_key=hunter2-rclone:bucket/x'\n"
        "aws s3 cp /srv/a.tgz s3://b/x/ --endpoint-url https://ak:hunter2-endpoint@minio:9000\n"
        "pg_dump db > /srv/db.sql\n");
  dir.write("etc/postgresql/15/main/postgresql.conf",
            "archive_mode = on\narchive_command = 'sshpass -p hunter2-wal scp %p h:/w/%f'\n");
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.err.find("hunter2") == std::string::npos);
  CHECK(r.err.find("rclone to :s3:bucket/x") != std::string::npos);
  CHECK(r.err.find("archive_command (sshpass ...)") != std::string::npos);
}

TEST_CASE("hostile init: under --root, /.. does not lead out of the tree") {
  test::TempDir dir("bd-init");
  dir.write("outside", "not the host's\n");
  dir.write("host/inside", "the host's\n");
  init::HostFiles host((dir / "host").string());
  CHECK(host.read("/inside") == "the host's\n");
  CHECK(!host.read("/../outside"));
  CHECK(!host.is_file("/../../" + (dir / "outside").string()));
}

TEST_CASE(
    "hostile init: an archive of what the script's owner cannot read is not compared with "
    "it as root") {
  test::TempDir dir("bd-init");
  plant(dir, "tar czf /srv/root.tgz /root\n");
  dir.write("root/.bash_history", "secret names\n");
  give_to_backup(dir / "opt/x.sh");
  fs::permissions(dir / "root", geteuid() == 0 ? fs::perms::owner_all
                                               : fs::perms::owner_write | fs::perms::owner_exec);
  auto r = init_in(dir);
  fs::permissions(dir / "root", fs::perms::owner_all);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("archive.compare_source") == std::string::npos);
  CHECK(r.err.find("tar archives /root, which the owner of /opt/x.sh cannot read") !=
        std::string::npos);
}

TEST_CASE("hostile init: an ssh key path with blanks does not add options to the dry run's ssh") {
  test::TempDir dir("bd-init");
  plant(dir, "rsync -a -e 'ssh -i \"/k -oProxyCommand=touch /tmp/owned\"' /srv/a/ h:/b/\n");
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("ProxyCommand") == std::string::npos);
  CHECK(r.out.find("rsync.dry_run") != std::string::npos);
}

TEST_CASE("hostile init: -o is not stopped, nor redirected, by what others made beside it") {
  test::TempDir dir("bd-init");
  plant(dir, "pg_dump db > /srv/db.sql\n");
  test::TempDir out("bd-init-out");
  const fs::path target = out / "checklist.json";
  fs::create_symlink(out / "elsewhere", fs::path(target.string() + ".init-tmp"));
  auto r = run_bd({"init", "--root", dir.path().string(), "-o", target.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(fs::is_regular_file(fs::symlink_status(target)));
  CHECK(!fs::exists(out / "elsewhere"));
  CHECK(fs::is_symlink(fs::symlink_status(fs::path(target.string() + ".init-tmp"))));
  CHECK(std::distance(fs::directory_iterator(out.path()), fs::directory_iterator()) == 2);
}

TEST_CASE("hostile init: a few bytes of script do not expand to gigabytes of words or variables") {
  test::TempDir dir("bd-init");
  const std::string big = "B=" + repeat("x", 4000) + "\n";
  SUBCASE("words") {
    plant(dir, big + "tar czf /srv/a.tgz" + repeat(" $B", 1000000) + "\n");
  }
  SUBCASE("${V:=...}") {
    std::string script = big;
    for (int i = 0; i < 200000; ++i) script += ": ${V" + std::to_string(i) + ":=$B}\n";
    plant(dir, script + "pg_dump db > /srv/db.sql\n");
  }
  survives(init_in(dir));
}

TEST_CASE("hostile init: passwords are cut out of connection strings however they are written") {
  for (std::string v :
       {"postgresql://u:hunter2@pass@db/x", "host=db password = hunter2 dbname=x",
        "host=db password = 'hunter 2' dbname=x",
        "postgresql://u@db/x?password=hunter2&sslmode=require", "password=hunter2"}) {
    std::string why;
    CHECK_MESSAGE(init::without_password(v, why), v);
    CHECK_MESSAGE(v.find("hunter") == std::string::npos, v);
    CHECK_MESSAGE(v.find("pass@") == std::string::npos, v);
  }
  std::string plain = "host=db dbname=passwords";
  std::string why;
  CHECK(!init::without_password(plain, why));
  CHECK(plain == "host=db dbname=passwords");
}

TEST_CASE("hostile init: a script anyone may change counts as anyone's") {
  test::TempDir dir("bd-init");
  plant(dir, ". /root/.pgpass\npg_dump db > /srv/db.sql\n");
  fs::permissions(dir.write("root/.pgpass", "db1:5432:*:backup:hunter2-pgpass\n"),
                  fs::perms::owner_read);
  fs::permissions(dir / "opt/x.sh", fs::perms::owner_all | fs::perms::others_all);
  auto r = init_in(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.err.find("/root/.pgpass is a file the owner of /opt/x.sh cannot read") !=
        std::string::npos);
}
