#include "fixtures.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/time.h>

using namespace backup_doctor::selinux;
using backup_doctor::sdk::Status;
using backup_doctor::selinux::test::avc;
using backup_doctor::selinux::test::FakeSelinux;
using backup_doctor::selinux::test::now;
using backup_doctor::selinux::test::stamp;
using backup_doctor::testing::run_check;

namespace {

const std::string kPg = "system_u:system_r:postgresql_t:s0";
const std::string kRsync = "system_u:system_r:rsync_t:s0";
const std::string kCron = "system_u:system_r:system_cronjob_t:s0";
const std::string kDefault = "unconfined_u:object_r:default_t:s0";
const std::string kHome = "unconfined_u:object_r:user_home_t:s0";
const std::string kTmp = "system_u:object_r:tmp_t:s0";

void set_mtime(const std::filesystem::path& p, double ago) {
  double t = now() - ago;
  struct timeval tv[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
  REQUIRE(::utimes(p.c_str(), tv) == 0);
}

void write_gzip(const std::filesystem::path& p, const std::string& content) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  REQUIRE(archive_write_open_filename(a, p.c_str()) == ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "audit.log");
  archive_write_header(a, e);
  archive_write_data(a, content.data(), content.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
}

// audit.log.2: entirely before the window. audit.log.1: rotated mid-window (one denial before
// the window, two inside). audit.log: the rest, with the shapes auditd writes and junk.
struct AuditFixture {
  FakeSelinux f;
  std::filesystem::path dir;
  std::string rotated1;
  AuditFixture(bool gzip_rotated = false) {
    dir = f.dir.path() / "var/log/audit";
    f.dir.write(
        "var/log/audit/audit.log.2",
        avc(45 * 3600, 50, "write", "pg_dump", "name=\"database\"", kPg, kDefault, "dir") +
            avc(44 * 3600, 51, "write", "pg_dump", "name=\"database\"", kPg, kDefault, "dir"));
    set_mtime(dir / "audit.log.2", 40 * 3600);
    rotated1 = avc(30 * 3600, 100, "write", "pg_dump", "name=\"database\"", kPg, kDefault, "dir") +
               avc(5 * 3600, 101, "write", "pg_dump", "name=\"database\"", kPg, kDefault, "dir") +
               "this line is not an audit record\n" +
               avc(4 * 3600, 102, "add_name write", "pg_dump", "name=\"latest.sql.gz\"", kPg,
                   kDefault, "dir") +
               "type=SYSCALL " + stamp(4 * 3600, 102) +
               " arch=c000003e syscall=257 success=no exit=-13 comm=\"pg_dump\" "
               "exe=\"/usr/bin/pg_dump\" key=(null)\n" +
               "type=CWD " + stamp(4 * 3600, 102) + " cwd=\"/var/lib/pgsql\"\n" + "type=PATH " +
               stamp(4 * 3600, 102) + " item=0 name=\"/opt/backups/database\" nametype=PARENT\n";
    if (gzip_rotated) {
      write_gzip(dir / "audit.log.1.gz", rotated1);
      set_mtime(dir / "audit.log.1.gz", 3.5 * 3600);
    } else {
      f.dir.write("var/log/audit/audit.log.1", rotated1);
      set_mtime(dir / "audit.log.1", 3.5 * 3600);
    }
    f.dir.write(
        "var/log/audit/audit.log",
        avc(2 * 3600, 200, "read", "rsync", "path=\"/opt/backups/files/a.txt\"", kRsync, kHome,
            "file") +
            "\n----\n" +
            // A backup script run by bash: only its PATH record names the backup directory.
            avc(3600, 201, "create", "bash", "name=\"daily\"", kCron, kDefault, "dir") +
            "type=SYSCALL " + stamp(3600, 201) +
            " arch=c000003e syscall=83 success=no exit=-13 comm=\"bash\" exe=\"/usr/bin/bash\"\n" +
            "type=PATH " + stamp(3600, 201) +
            " item=0 name=\"/opt/backups/daily\" nametype=CREATE\n" +
            avc(1800, 202, "getattr", "nginx", "path=\"/srv/www\"", "system_u:system_r:httpd_t:s0",
                kDefault, "dir") +
            "type=AVC " + stamp(1500, 203) +
            " avc:  denied  { write } for  pid=7\x01\xff garbage\n" +
            avc(1200, 204, "write", "tar", "path=\"/var/tmp/stage/files.tar\"", kCron, kTmp, "file",
                "1") +
            "type=USER_AVC " + stamp(600, 205) +
            " pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 "
            "msg='avc:  denied  { start } for auid=0 uid=0 gid=0 "
            "path=\"/etc/systemd/system/nightly.service\" "
            "scontext=system_u:system_r:unconfined_service_t:s0 "
            "tcontext=system_u:object_r:systemd_unit_file_t:s0 tclass=service permissive=0  "
            "exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'\n" +
            "type=AVC " + stamp(300, 206) +
            " avc:  granted  { setenforce } for  pid=1 scontext=a:b:c_t tcontext=a:b:d_t "
            "tclass=security\n" +
            "type=AVC msg=audit(not-a-time:1): avc:  denied  { write }\n");
  }
  nlohmann::json params(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json p = {{"audit_log", (dir / "audit.log").string()},
                        {"selinuxfs_root", f.selinuxfs()}};
    p.update(extra);
    return p;
  }
};

nlohmann::json group(const nlohmann::json& d, const std::string& stype_fragment,
                     const std::string& perm) {
  for (const auto& g : d["groups"])
    if (g["scontext"].get<std::string>().find(stype_fragment) != std::string::npos &&
        g["permission"] == perm)
      return g;
  return nullptr;
}

}  // namespace

TEST_CASE("selinux.denials: backup denials across a rotation, grouped, malformed lines counted") {
  AuditFixture x;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials", x.params());
  REQUIRE(r.status == Status::fail);
  CHECK(r.details["denials"] == 4);  // 101, 102 (pg_dump), 200 (rsync), 204 (tar, permissive)
  CHECK(r.details["enforced_denials"] == 3);
  CHECK(r.details["other_denials"] == 3);          // bash, nginx, systemd
  CHECK(r.details["denials_before_window"] == 1);  // serial 100 in the rotated log
  CHECK(r.details["malformed_lines"] == 3);
  CHECK(r.details["malformed_examples"].size() == 3);
  CHECK(r.details["group_count"] == 4);
  CHECK(r.details["granted_records"] == 1);

  auto pg_write = group(r.details, "postgresql_t", "write");
  REQUIRE(!pg_write.is_null());
  CHECK(pg_write["count"] == 2);
  CHECK(pg_write["tclass"] == "dir");
  CHECK(pg_write["tcontext"] == kDefault);
  CHECK(pg_write["last_timestamp"].get<double>() ==
        doctest::Approx(now() - 4 * 3600).epsilon(1e-6));
  CHECK(pg_write["programs"].dump().find("/usr/bin/pg_dump") != std::string::npos);
  CHECK(pg_write["allow_rule"] == "allow postgresql_t default_t:dir write;");
  CHECK(pg_write["hint"].get<std::string>().find(
            "semanage fcontext -a -t postgresql_db_t '/opt/backups/database(/.*)?'") !=
        std::string::npos);
  CHECK(r.details["groups"][0] == pg_write);  // the most frequent first
  CHECK(group(r.details, "postgresql_t", "add_name")["count"] == 1);
  auto tar = group(r.details, "system_cronjob_t", "write");
  REQUIRE(!tar.is_null());
  CHECK(tar["permissive"] == true);

  // The rotated logs: .2 skipped for being older than the window, .1 read.
  auto logs = r.details["audit_logs"];
  REQUIRE(logs.size() == 3);
  CHECK(logs[0]["path"].get<std::string>().find("audit.log.2") != std::string::npos);
  CHECK(logs[0]["skipped"] == "older than the window");
  CHECK(logs[1]["malformed_lines"] == 1);

  CHECK(r.summary.find("4 AVC denials") != std::string::npos);
  CHECK(r.summary.find("postgresql_t denied write on dir default_t (2x") != std::string::npos);
  CHECK(r.summary.find("3 malformed lines skipped") != std::string::npos);
  CHECK(r.remediation.find(
            "postgresql_t may not add_name write dir default_t (e.g. /opt/backups/database)") !=
        std::string::npos);
  CHECK(r.remediation.find("restorecon -Rv /opt/backups/files") != std::string::npos);
  CHECK(r.remediation.find("rsync_data_t") != std::string::npos);
  CHECK(r.remediation.find("[permissive: only logged]") != std::string::npos);
  CHECK(r.remediation.find("ausearch -m AVC,USER_AVC -ts yesterday") != std::string::npos);

  CHECK(r.metric("selinux_denials")->value == 4);
  CHECK(r.metric("selinux_other_denials")->value == 3);
  CHECK(r.metric("selinux_audit_malformed_lines")->value == 3);
  CHECK(r.metric("selinux_last_denial_timestamp")->value ==
        doctest::Approx(now() - 1200).epsilon(1e-6));
  auto by = r.metric("selinux_denials_by_access");
  REQUIRE(by != nullptr);
  CHECK(by->labels["source_type"] == "postgresql_t");
  CHECK(by->value == 2);
}

TEST_CASE("selinux.denials: paths match through PATH records, empty filters take every denial") {
  AuditFixture x;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials", x.params({{"paths", {"/opt/backups"}}}));
  CHECK(r.details["denials"] == 5);  // + the bash script creating /opt/backups/daily
  auto bash = group(r.details, "system_cronjob_t", "create");
  REQUIRE(!bash.is_null());
  CHECK(bash["paths"].dump().find("/opt/backups/daily") != std::string::npos);
  // The directory the script was denied on is the one to relabel.
  CHECK(bash["hint"].get<std::string>().find("'/opt/backups/daily(/.*)?'") != std::string::npos);

  auto all = run_check(
      plugin, "selinux.denials",
      x.params({{"programs", nlohmann::json::array()}, {"paths", nlohmann::json::array()}}));
  CHECK(all.details["denials"] == 7);
  CHECK(all.details["other_denials"] == 0);
  CHECK(all.summary.find("of any program") != std::string::npos);

  auto only_nginx = run_check(plugin, "selinux.denials", x.params({{"programs", {"ngin*"}}}));
  CHECK(only_nginx.details["denials"] == 1);
  auto glob_path =
      run_check(plugin, "selinux.denials",
                x.params({{"programs", nlohmann::json::array()}, {"paths", {"*.tar"}}}));
  CHECK(glob_path.details["denials"] == 1);
}

TEST_CASE("selinux.denials: the window decides which rotated logs are read") {
  AuditFixture x;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials", x.params({{"since", "3h"}}));
  CHECK(r.details["denials"] == 2);  // rsync 2h ago and tar 20 min ago
  CHECK(r.details["audit_logs"][1]["skipped"] == "older than the window");
  CHECK(r.remediation.find("-ts yesterday") != std::string::npos);
  auto week = run_check(plugin, "selinux.denials", x.params({{"since", "7d"}}));
  CHECK(week.details["denials"] == 7);  // 4 + 100 + both of audit.log.2
  CHECK(week.details["denials_before_window"] == 0);
  auto no_rotated = run_check(plugin, "selinux.denials", x.params({{"include_rotated", false}}));
  CHECK(no_rotated.details["denials"] == 2);
  CHECK(no_rotated.details["audit_logs"].size() == 1);
}

TEST_CASE("selinux.denials reads a gzip-compressed rotated log") {
  AuditFixture x(true);
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials", x.params());
  CHECK(r.status == Status::fail);
  CHECK(r.details["denials"] == 4);
  CHECK(r.details["malformed_lines"] == 3);
}

TEST_CASE("selinux.denials: only permissive denials warn, none is ok") {
  FakeSelinux f;
  f.dir.write("audit.log",
              avc(60, 1, "write", "pg_dump", "name=\"x\"", kPg, kDefault, "dir", "1") +
                  avc(60, 2, "read", "nginx", "name=\"y\"", kPg, kDefault, "dir", "0"));
  SelinuxPlugin plugin;
  auto r =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "audit.log").string()}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("permissive mode, nothing was blocked yet") != std::string::npos);

  f.dir.write("quiet.log", "type=SYSCALL " + stamp(60, 3) +
                               " arch=c000003e syscall=2 success=yes comm=\"ls\"\n" +
                               avc(60, 4, "read", "nginx", "name=\"y\"", kPg, kDefault, "dir"));
  auto ok =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "quiet.log").string()}});
  CHECK(ok.status == Status::ok);
  CHECK(ok.summary.find("no AVC denial of backup programs/paths") != std::string::npos);
  CHECK(ok.summary.find("(1 denial of other programs)") != std::string::npos);
  CHECK(ok.metric("selinux_denials")->value == 0);
}

TEST_CASE("selinux.denials: a file of nothing but junk warns instead of passing") {
  FakeSelinux f;
  std::string junk;
  for (int i = 0; i < 50; ++i)
    junk += "Nov 29 10:00:00 host kernel: something " + std::to_string(i) + "\n";
  junk += std::string(100000, 'x') + "\n";
  f.dir.write("messages", junk);
  SelinuxPlugin plugin;
  auto r =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "messages").string()}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("none of the 51 lines") != std::string::npos);
  CHECK(r.details["malformed_examples"].size() == 5);
  CHECK(r.details["malformed_examples"][0]["line"] == 1);
}

TEST_CASE("selinux.denials: a missing audit log is skipped without SELinux, an error with it") {
  FakeSelinux f;
  SelinuxPlugin plugin;
  nlohmann::json p = {{"audit_log", (f.dir.path() / "audit.log").string()},
                      {"selinuxfs_root", f.selinuxfs()}};
  auto skipped = run_check(plugin, "selinux.denials", p);
  CHECK(skipped.status == Status::skipped);
  CHECK(skipped.summary.find("SELinux is not enabled on this host") != std::string::npos);
  f.enable(1);
  auto error = run_check(plugin, "selinux.denials", p);
  CHECK(error.status == Status::error);
  CHECK(error.remediation.find("auditd") != std::string::npos);
  CHECK(run_check(plugin, "selinux.denials",
                  {{"audit_log", "/nonexistent/audit.log"}, {"since", "yesterday"}})
            .status == Status::error);
}

TEST_CASE("selinux.denials: a directory given as the log is an error") {
  FakeSelinux f;
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials", {{"audit_log", f.dir.path().string()}});
  CHECK(r.status == Status::error);
  CHECK(r.summary.find("not a regular file") != std::string::npos);
  CHECK(r.remediation.find("log_file in /etc/audit/auditd.conf") != std::string::npos);
}

TEST_CASE("selinux.denials: an empty audit log is ok") {
  FakeSelinux f;
  f.dir.write("audit.log", "");
  SelinuxPlugin plugin;
  auto r =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "audit.log").string()}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["lines"] == 0);
}

TEST_CASE("selinux.denials: max_items caps groups and rules") {
  FakeSelinux f;
  std::string log;
  for (int i = 0; i < 30; ++i)
    log += avc(60, i, "write", "pg_dump", "path=\"/opt/backups/f" + std::to_string(i) + "\"", kPg,
               "system_u:object_r:type" + std::to_string(i) + "_t:s0", "file");
  f.dir.write("audit.log", log);
  SelinuxPlugin plugin;
  auto r = run_check(plugin, "selinux.denials",
                     {{"audit_log", (f.dir.path() / "audit.log").string()}, {"max_items", 3}});
  CHECK(r.status == Status::fail);
  CHECK(r.details["group_count"] == 30);
  CHECK(r.details["groups"].size() == 3);
  CHECK(r.remediation.find("(27 more in the details)") != std::string::npos);
}

TEST_CASE("selinux.denials: an overlong line is cut and counted, the records around it count") {
  FakeSelinux f;
  std::string log = avc(60, 1, "read", "rsync", "name=\"a\"", kRsync, kDefault, "file") +
                    std::string(200000, 'A') + "\n" +
                    avc(50, 2, "read", "rsync", "name=\"b\"", kRsync, kDefault, "file") +
                    std::string(70000, 'B');  // and a last one without newline
  f.dir.write("audit.log", log);
  write_gzip(f.dir.path() / "audit.log.1.gz",
             std::string(300000, 'C') + "\n" +
                 avc(55, 3, "read", "rsync", "name=\"c\"", kRsync, kDefault, "file"));
  SelinuxPlugin plugin;
  auto r =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "audit.log").string()}});
  INFO(r.summary, "\n", r.details.dump(2));
  CHECK(r.details["denials"] == 3);
  CHECK(r.details["overlong_lines"] == 3);
  CHECK(r.details["max_line_bytes"] == 65536);
  CHECK(r.summary.find("3 lines longer than 64 KiB") != std::string::npos);
}

TEST_CASE("selinux.denials: a link or a FIFO in place of a log is neither followed nor opened") {
  FakeSelinux f;
  f.dir.write("real/audit.log",
              avc(60, 1, "read", "rsync", "name=\"x\"", kRsync, kDefault, "file"));
  std::filesystem::create_directories(f.dir.path() / "logs");
  std::filesystem::create_symlink(f.dir.path() / "real/audit.log", f.dir.path() / "logs/audit.log");
  SelinuxPlugin plugin;
  auto linked = run_check(plugin, "selinux.denials",
                          {{"audit_log", (f.dir.path() / "logs/audit.log").string()}});
  CHECK(linked.status == Status::error);
  CHECK(linked.summary.find("symbolic link") != std::string::npos);
  CHECK(linked.remediation.find("log_file in /etc/audit/auditd.conf") != std::string::npos);

  REQUIRE(mkfifo((f.dir.path() / "fifo.log").c_str(), 0600) == 0);
  auto fifo =
      run_check(plugin, "selinux.denials", {{"audit_log", (f.dir.path() / "fifo.log").string()}});
  CHECK(fifo.status == Status::error);
  CHECK(fifo.summary.find("FIFO") != std::string::npos);

  // Rotated logs: a FIFO and a link next to the live log are no rotated logs.
  f.dir.write("rot/audit.log", avc(60, 1, "read", "rsync", "name=\"x\"", kRsync, kDefault, "file"));
  REQUIRE(mkfifo((f.dir.path() / "rot/audit.log.1").c_str(), 0600) == 0);
  std::filesystem::create_symlink(f.dir.path() / "real/audit.log",
                                  f.dir.path() / "rot/audit.log.2");
  auto rotated = run_check(plugin, "selinux.denials",
                           {{"audit_log", (f.dir.path() / "rot/audit.log").string()}});
  CHECK(rotated.details["audit_logs"].size() == 1);
  CHECK(rotated.details["denials"] == 1);
}
