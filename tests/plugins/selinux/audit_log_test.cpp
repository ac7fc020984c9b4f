#include "audit_log.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::selinux;

TEST_CASE("a kernel AVC denial with name=") {
  AuditRecord r;
  std::string why;
  auto k = parse_audit_line(
      "type=AVC msg=audit(1700000000.123:456): avc:  denied  { write } for  pid=4242 "
      "comm=\"pg_dump\" name=\"database\" dev=\"dm-0\" ino=1234 "
      "scontext=system_u:system_r:postgresql_t:s0 tcontext=unconfined_u:object_r:default_t:s0 "
      "tclass=dir permissive=0",
      r, &why);
  REQUIRE(k == LineKind::record);
  CHECK(r.type == "AVC");
  CHECK(r.timestamp == doctest::Approx(1700000000.123));
  CHECK(r.serial == "456");
  CHECK(r.avc_result == "denied");
  CHECK(r.permissions == std::vector<std::string>{"write"});
  CHECK(r.fields["comm"] == "pg_dump");
  CHECK(r.fields["name"] == "database");
  CHECK(r.fields["scontext"] == "system_u:system_r:postgresql_t:s0");
  CHECK(r.fields["tclass"] == "dir");
  CHECK(r.fields["permissive"] == "0");
  CHECK(r.event_key() == "1700000000.123:456");
}

TEST_CASE("several permissions, path=, hex-encoded comm, no permissive field (old kernels)") {
  AuditRecord r;
  auto k = parse_audit_line(
      "type=AVC msg=audit(1700000001.000:7): avc:  denied  { read open } for  pid=1 "
      "comm=6D7920626B7570 path=\"/opt/backups/db dump.sql\" dev=\"vda1\" ino=2 "
      "scontext=system_u:system_r:rsync_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file",
      r, nullptr);
  REQUIRE(k == LineKind::record);
  CHECK(r.permissions == std::vector<std::string>{"read", "open"});
  CHECK(r.fields["comm"] == "my bkup");
  CHECK(r.fields["path"] == "/opt/backups/db dump.sql");
  CHECK_FALSE(r.fields.count("permissive"));
}

TEST_CASE("USER_AVC from a userspace object manager, node= prefix, enriched format") {
  AuditRecord r;
  auto k = parse_audit_line(
      "node=backup01 type=USER_AVC msg=audit(1700000002.500:789): pid=1 uid=0 auid=4294967295 "
      "ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { start } for auid=0 "
      "uid=0 gid=0 path=\"/etc/systemd/system/backup.service\" "
      "scontext=system_u:system_r:unconfined_service_t:s0 "
      "tcontext=system_u:object_r:systemd_unit_file_t:s0 tclass=service permissive=0  "
      "exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'\x1dUID=\"root\" "
      "AUID=\"unset\"",
      r, nullptr);
  REQUIRE(k == LineKind::record);
  CHECK(r.type == "USER_AVC");
  CHECK(r.permissions == std::vector<std::string>{"start"});
  CHECK(r.fields["tclass"] == "service");
  CHECK(r.fields["exe"] == "/usr/lib/systemd/systemd");
  CHECK(r.fields["path"] == "/etc/systemd/system/backup.service");
  CHECK_FALSE(r.fields.count("UID"));
}

TEST_CASE("SYSCALL and PATH records and notices") {
  AuditRecord r;
  REQUIRE(parse_audit_line("type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e syscall=257 "
                           "success=no exit=-13 comm=\"pg_dump\" exe=\"/usr/bin/pg_dump\" "
                           "subj=system_u:system_r:postgresql_t:s0 key=(null)",
                           r, nullptr) == LineKind::record);
  CHECK(r.type == "SYSCALL");
  CHECK(r.fields["exe"] == "/usr/bin/pg_dump");
  CHECK(r.fields["key"] == "(null)");
  REQUIRE(parse_audit_line(
              "type=PATH msg=audit(1700000000.123:456): item=0 name=2F6F70742F6261636B757073 "
              "inode=1 nametype=PARENT",
              r, nullptr) == LineKind::record);
  CHECK(r.fields["name"] == "/opt/backups");
  REQUIRE(parse_audit_line(
              "type=AVC msg=audit(1700000000.1:9): avc:  received policyload notice (seqno=2)", r,
              nullptr) == LineKind::record);
  CHECK(r.avc_result == "received");
  CHECK(r.permissions.empty());
  REQUIRE(parse_audit_line("type=AVC msg=audit(1700000000.1:9): avc:  granted  { setenforce } for "
                           "pid=1 scontext=a:b:c_t tcontext=a:b:d_t tclass=security",
                           r, nullptr) == LineKind::record);
  CHECK(r.avc_result == "granted");
}

TEST_CASE("blank lines and ausearch separators are ignorable") {
  AuditRecord r;
  CHECK(parse_audit_line("", r, nullptr) == LineKind::ignorable);
  CHECK(parse_audit_line("   \r", r, nullptr) == LineKind::ignorable);
  CHECK(parse_audit_line("----", r, nullptr) == LineKind::ignorable);
  CHECK(parse_audit_line("time->Wed Nov 29 10:00:00 2024", r, nullptr) == LineKind::ignorable);
}

TEST_CASE("malformed lines say why and never throw") {
  const char* bad[] = {
      "garbage that is not an audit record",
      "type=AVC",
      "type=AVC msg=audit(abc:1): avc:  denied  { write } for scontext=a:b:c tcontext=a:b:c "
      "tclass=file",
      "type=AVC msg=audit(1700000000.1): avc:  denied  { write } for scontext=a:b:c tcontext=a:b:c "
      "tclass=file",
      "type=AVC msg=audit(1700000000.1:x): avc:  denied  { write }",
      "type=AVC msg=audit(1700000000.1:2): avc:  denied  { write } for pid=1 comm=\"tar\"",
      "type=AVC msg=audit(1700000000.1:2): avc:  denied  {  } for scontext=a:b:c tcontext=a:b:c "
      "tclass=file",
      "type=AVC msg=audit(1700000000.1:2): avc:  denied  { write for scontext=a:b:c",
      "type=AVC msg=audit(1700000000.1:2): avc:  den",
      "type=AVC msg=audit(1700000000.1:2): something else",
      "type=USER_AVC msg=audit(1700000000.1:2): pid=1 msg='truncated",
      "type=AVC msg=audit(1700000000.1:2",
      "\x01\x02\xff\xfe binary",
  };
  for (const char* line : bad) {
    AuditRecord r;
    std::string why;
    INFO(line);
    CHECK(parse_audit_line(line, r, &why) == LineKind::malformed);
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("decode_hex") {
  CHECK(decode_hex("2F746D70") == std::string("/tmp"));
  CHECK(decode_hex("7461720064") == std::string("tar d"));  // NUL becomes a space (proctitle)
  CHECK_FALSE(decode_hex("2F7").has_value());
  CHECK_FALSE(decode_hex("zz").has_value());
  CHECK_FALSE(decode_hex("beef").has_value());  // lowercase: a plain word
  CHECK_FALSE(decode_hex("").has_value());
}

TEST_CASE("lazy parsing keeps non-AVC fields for later, AVC fields always parsed") {
  ParseOptions lazy{true};
  AuditRecord r;
  REQUIRE(
      parse_audit_line(
          "type=SYSCALL msg=audit(1700000000.123:456): comm=\"pg_dump\" exe=\"/usr/bin/pg_dump\"",
          r, nullptr, lazy) == LineKind::record);
  CHECK(r.fields.empty());
  CHECK_FALSE(r.body.empty());
  parse_fields(r);
  CHECK(r.fields["exe"] == "/usr/bin/pg_dump");
  CHECK(r.body.empty());
  REQUIRE(parse_audit_line(
              "type=AVC msg=audit(1700000000.1:2): avc:  denied  { read } for comm=\"tar\" "
              "scontext=a:b:c_t tcontext=a:b:d_t tclass=file",
              r, nullptr, lazy) == LineKind::record);
  CHECK(r.fields["comm"] == "tar");
}
