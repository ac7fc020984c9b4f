// The files plugin through the real backup-doctor binary: checklist in, JSON report out.
#include "fixtures.hpp"

#include <map>

using namespace files_test;
using backup_doctor::support::run_process;

namespace {
backup_doctor::support::ProcessResult doctor(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BD_TEST_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  backup_doctor::support::ProcessOptions o;
  o.timeout = std::chrono::seconds(60);
  o.env["NO_COLOR"] = "1";
  auto r = run_process(argv, o);
  REQUIRE_MESSAGE(r.started, r.start_error);
  return r;
}

struct Sandbox {
  TempDir t;
  std::filesystem::path checklist;
  Sandbox() {
    set_mode(t.path(), 0755);
    for (int i = 0; i < 4; ++i) {
      auto f = t.write("backups/database/db" + std::to_string(i) + ".sql.gz",
                       std::string(i == 0 ? 100 : 50000, 'x'));
      set_age(f, (i == 0 ? 2 : 30 + 24 * i) * 3600.0);
    }
    for (int i = 0; i < 2; ++i) {
      auto f = t.write("backups/files/f" + std::to_string(i) + ".tar.gz", std::string(5000, 'y'));
      set_age(f, (30 + 24 * i) * 3600.0);
    }
    t.write("log/db_backup.log",
            "start\nBackup completed successfully\nstart\nERROR: pg_dump: connection refused\n");
    auto script = t.write("scripts/db_backup.sh", "#!/bin/sh\n");
    set_mode(script, 0644);
    json doc = {
        {"version", 1},
        {"name", "files-e2e"},
        {"vars", {{"root", "/nonexistent"}}},
        {"checks",
         {{{"id", "db-dir"},
           {"use", "files.exists"},
           {"with", {{"path", "${root}/backups/database"}, {"type", "dir"}}}},
          {{"id", "db-fresh"},
           {"use", "files.freshness"},
           {"needs", {"db-dir"}},
           {"with",
            {{"path", "${root}/backups/database"}, {"pattern", "*.sql.gz"}, {"max_age", "25h"}}}},
          {{"id", "files-fresh"},
           {"use", "files.freshness"},
           {"with",
            {{"path", "${root}/backups/files"}, {"pattern", "*.tar.gz"}, {"max_age", "25h"}}}},
          {{"id", "db-log"},
           {"use", "files.log_scan"},
           {"with",
            {{"path", "${root}/log/db_backup.log"},
             {"success_marker", "Backup completed successfully"}}}},
          {{"id", "script"},
           {"use", "files.mode"},
           {"with", {{"path", "${root}/scripts/db_backup.sh"}, {"executable", true}}}},
          {{"id", "user-writes"},
           {"use", "files.access"},
           {"with",
            {{"path", "${root}/backups/files"}, {"user", kTestUser}, {"access", {"write"}}}}},
          {{"id", "tools"},
           {"use", "files.tools"},
           {"with", {{"tools", {"tar", "bd-e2e-missing-tool"}}}}}}}};
    checklist = t.write("checklist.json", doc.dump(2));
  }
};
}  // namespace

TEST_CASE("e2e: the files checks find the planted problems through backup-doctor run") {
  Sandbox s;
  auto r = doctor({"run", s.checklist.string(), "--format", "json", "--no-progress", "--var",
                   "root=" + s.t.path().string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  json report = json::parse(r.out);
  std::map<std::string, json> by_id;
  for (const auto& res : report["results"]) by_id[res["id"].get<std::string>()] = res;
  REQUIRE(by_id.size() == 7);
  CHECK(by_id["db-dir"]["status"] == "ok");
  CHECK(by_id["db-fresh"]["status"] == "warn");
  CHECK(by_id["files-fresh"]["status"] == "fail");
  CHECK(by_id["db-log"]["status"] == "fail");
  CHECK(by_id["script"]["status"] == "fail");
  CHECK(by_id["tools"]["status"] == "fail");
  // Root runs the check, but the access test really ran as the unprivileged user (who owns
  // nothing here): it cannot write a root-owned 0755 directory.
  CHECK(by_id["user-writes"]["status"] == "fail");
  for (const auto& id : {"db-fresh", "files-fresh", "db-log", "script", "tools", "user-writes"})
    CHECK_FALSE(by_id[id]["remediation"].get<std::string>().empty());
  CHECK(contains(by_id["db-log"]["summary"], "db_backup.log:4"));
  CHECK(contains(by_id["tools"]["remediation"], "bd-e2e-missing-tool"));
  bool has_ts = false;
  for (const auto& m : by_id["db-fresh"]["metrics"])
    if (m["name"] == "newest_backup_timestamp") {
      has_ts = true;
      CHECK(m["unit"] == "seconds");
      CHECK(m["value"].get<double>() > 1.6e9);
    }
  CHECK(has_ts);
}

TEST_CASE("e2e: the newest backup timestamp reaches the Prometheus output") {
  Sandbox s;
  auto r = doctor({"run", s.checklist.string(), "--format", "prometheus", "--only", "db-fresh",
                   "--var", "root=" + s.t.path().string()});
  CHECK(contains(r.out, "backup_doctor_newest_backup_timestamp_seconds{"));
  CHECK(contains(r.out, "backup_doctor_newest_backup_age_seconds{"));
}

TEST_CASE("e2e: a misspelled files parameter fails validation before anything runs") {
  TempDir t;
  json checklist = {{"version", 1},
                    {"name", "typo"},
                    {"checks",
                     {{{"id", "fresh"},
                       {"use", "files.freshness"},
                       {"with", {{"path", "/opt/backups"}, {"max_agee", "25h"}}}}}}};
  auto path = t.write("c.json", checklist.dump());
  auto r = doctor({"validate", path.string()});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.out + r.err, "max_agee"));
  CHECK(contains(r.out + r.err, "fresh"));
}
