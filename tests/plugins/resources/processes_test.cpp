#include "processes.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

using namespace backup_doctor::resources;

namespace {
std::string stat_line(int pid, const std::string& comm, char state, long nice,
                      unsigned long start) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice threads itreal starttime ...
  return std::to_string(pid) + " (" + comm + ") " + state + " 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 " +
         std::to_string(nice) + " 1 0 " + std::to_string(start) + " 1000 100 0 0\n";
}
}  // namespace

TEST_CASE("parse_proc_stat copes with spaces and parentheses in comm") {
  auto s = parse_proc_stat(stat_line(42, "my (weird) pg_dump", 'D', 10, 12345));
  REQUIRE(s.has_value());
  CHECK(s->pid == 42);
  CHECK(s->comm == "my (weird) pg_dump");
  CHECK(s->state == 'D');
  CHECK(s->nice == 10);
  CHECK(s->start_ticks == 12345u);
  CHECK(s->utime_ticks == 250u);
  CHECK_FALSE(parse_proc_stat("42 (x) R 1 2").has_value());
  CHECK_FALSE(parse_proc_stat("garbage").has_value());
}

TEST_CASE("parse_proc_io needs rchar and wchar") {
  auto io = parse_proc_io(
      "rchar: 100\nwchar: 200\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\n");
  REQUIRE(io.has_value());
  CHECK(io->rchar == 100u);
  CHECK(io->write_bytes == 8192u);
  CHECK_FALSE(parse_proc_io("read_bytes: 1\n").has_value());
}

TEST_CASE("display_cmdline masks secrets") {
  CHECK(display_cmdline({"pg_dump", "-h", "db", "trixtech"}) == "pg_dump -h db trixtech");
  CHECK(display_cmdline({"tool", "--password=hunter2"}) == "tool --password=***");
  CHECK(display_cmdline({"tool", "--secret-key", "abc", "x"}) == "tool --secret-key *** x");
  CHECK(display_cmdline({"rclone", "sync", "s3://user:pw@host/bucket"}) ==
        "rclone sync s3://user:***@host/bucket");
  CHECK(display_cmdline({"x", std::string(500, 'a')}, 50).size() == 53u);
}

TEST_CASE("display_cmdline masks the secrets of the usual tools, however they are written") {
  using V = std::vector<std::string>;
  auto shown = [](const V& argv) { return display_cmdline(argv, 100000); };
  CHECK(shown({"mysqldump", "-uroot", "-pS3cr3t", "db"}) == "mysqldump -uroot -p*** db");
  CHECK(shown({"mysqldump", "-p", "db"}) == "mysqldump -p db");  // -p alone prompts
  CHECK(shown({"mariadb-dump", "--password=S3cr3t"}) == "mariadb-dump --password=***");
  CHECK(shown({"sshpass", "-p", "S3cr3t", "ssh", "h"}) == "sshpass -p *** ssh h");
  CHECK(shown({"sshpass", "-pS3cr3t", "rsync"}) == "sshpass -p*** rsync");
  CHECK(shown({"curl", "-u", "backup:S3cr3t", "https://h"}) == "curl -u backup:*** https://h");
  CHECK(shown({"curl", "--user=backup:S3cr3t"}) == "curl --user=backup:***");
  CHECK(shown({"curl", "-H", "Authorization: Bearer S3cr3t"}) == "curl -H Authorization: ***");
  CHECK(shown({"pg_dump", "host=db password=S3cr3t dbname=x"}) ==
        "pg_dump host=db password=*** dbname=x");
  CHECK(shown({"pg_dump", "host=db password='S3 cr3t' dbname=x"}) ==
        "pg_dump host=db password=*** dbname=x");
  CHECK(shown({"psql", "postgresql://u:S3cr3t@db/x?sslmode=require&password=S4"}) ==
        "psql postgresql://u:***@db/x?sslmode=require&password=***");
  CHECK(shown({"env", "PGPASSWORD=S3cr3t", "MYSQL_PWD=S4", "pg_dump"}) ==
        "env PGPASSWORD=*** MYSQL_PWD=*** pg_dump");
  CHECK(shown({"aws", "--secret-access-key", "S3cr3t", "--token=S4"}) ==
        "aws --secret-access-key *** --token=***");
  CHECK(shown({"mount", "-o", "username=u,password=S3cr3t,vers=3"}) ==
        "mount -o username=u,password=***,vers=3");
  CHECK(shown({"redis-cli", "-a", "S3cr3t"}) == "redis-cli -a ***");
  CHECK(shown({"smbclient", "-U", "u%S3cr3t"}) == "smbclient -U u%***");
  CHECK(shown({"ldapsearch", "-w", "S3cr3t"}) == "ldapsearch -w ***");
  CHECK(shown({"openssl", "enc", "-pass", "pass:S3cr3t"}) == "openssl enc -pass ***");
  // Whole commands in one argument (sh -c, a faked argv[0]), quotes respected.
  CHECK(shown({"sh", "-c", "mysqldump -uroot -pS3cr3t db | curl -u a:S4 -T - ftp://h"}) ==
        "sh -c mysqldump -uroot -p*** db | curl -u a:*** -T - ftp://h");
  CHECK(shown({"mysqldump -pS3cr3t --all-databases"}) == "mysqldump -p*** --all-databases");
  CHECK(shown({"bash", "-c", "su -c \"mysqldump -pS3cr3t\" postgres"}) ==
        "bash -c su -c \"mysqldump -p***\" postgres");
  // Not secrets: ports, files, prompts.
  CHECK(shown({"pg_dump", "-p", "5432", "--password-file=/etc/pw", "--no-password"}) ==
        "pg_dump -p 5432 --password-file=/etc/pw --no-password");
  CHECK(shown({"rsync", "-avp", "--port=873"}) == "rsync -avp --port=873");
}

TEST_CASE("display_name masks a faked program name") {
  CHECK(display_name("mysqldump -pS3cr3t") == "mysqldump -p***");
  CHECK(display_name("pg_dump") == "pg_dump");
}

TEST_CASE("process_matches comm, program file name and interpreted scripts") {
  ProcessInfo p;
  p.stat.comm = "pg_dump";
  p.argv = {"/usr/bin/pg_dump", "trixtech"};
  std::string m;
  CHECK(process_matches(p, {"pg_dump"}, &m));
  CHECK_FALSE(process_matches(p, {"rsync", "tar"}, &m));

  ProcessInfo script;
  script.stat.comm = "bash";
  script.argv = {"/bin/bash", "-e", "/opt/backup-scripts/db_backup.sh"};
  CHECK(process_matches(script, {"*backup*.sh"}, &m));
  CHECK(m == "db_backup.sh");

  ProcessInfo other;
  other.stat.comm = "bash";
  other.argv = {"bash"};
  CHECK_FALSE(process_matches(other, {"*backup*.sh"}, &m));
}

TEST_CASE("decode_io_priority") {
  CHECK(decode_io_priority(3 << 13, 0).effective == "idle");
  auto be = decode_io_priority((2 << 13) | 7, 0);
  CHECK(be.name == "best-effort/7");
  auto none = decode_io_priority(0, 10);
  CHECK(none.effective == "best-effort");
  CHECK(none.level == 6);
  CHECK(none.name.find("from nice 10") != std::string::npos);
  CHECK(decode_io_priority(1 << 13, 0).effective == "realtime");
}

TEST_CASE("list_pids and read_process on a fixture tree") {
  backup_doctor::resources::test::FakeHost h;
  h.proc_file("77/stat", stat_line(77, "rsync", 'S', 0, 100));
  h.proc_file("77/cmdline", std::string("rsync\0-a\0/src/\0/dst/\0", 20));
  h.proc_file("77/status", "Name:\trsync\nUid:\t0\t0\t0\t0\n");
  h.proc_file("self/stat", "");
  h.proc_file("meminfo", "");
  auto pids = list_pids(h.proc());
  REQUIRE(pids.size() == 1u);
  CHECK(pids[0] == 77);
  auto p = read_process(h.proc(), 77);
  REQUIRE(p.has_value());
  CHECK(p->argv == std::vector<std::string>{"rsync", "-a", "/src/", "/dst/"});
  CHECK(p->uid == 0);
  CHECK_FALSE(read_process(h.proc(), 78).has_value());
}

TEST_CASE("read_process reads this test process from the live /proc") {
  auto p = read_process("/proc", ::getpid());
  REQUIRE(p.has_value());
  CHECK(p->stat.pid == ::getpid());
  CHECK_FALSE(p->argv.empty());
  CHECK(p->stat.state != '?');
}
