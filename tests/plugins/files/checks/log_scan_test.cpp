#include "fixtures.hpp"

#include <chrono>
#include <fstream>

using namespace files_test;

namespace {
// A db_backup.log like the one the guide tails: numbered lines, errors at chosen line numbers.
std::string backup_log(int lines, const std::map<int, std::string>& special) {
  std::string text;
  for (int i = 1; i <= lines; ++i) {
    auto it = special.find(i);
    text += it != special.end() ? it->second
                                : "2024-11-29 02:00:" + std::to_string(i % 60) +
                                      " INFO dumping table " + std::to_string(i);
    text += '\n';
  }
  return text;
}
}  // namespace

TEST_CASE("files.log_scan: reports each hit as file:line with its text") {
  TempDir t;
  auto log =
      t.write("log/db_backup.log",
              backup_log(200, {{150, "2024-11-29 02:03:01 ERROR pg_dump: connection refused"},
                               {180, "Traceback: java.lang.OutOfMemoryException"},
                               {190, "upload FAILED after 3 retries"}}));
  auto r = run("files.log_scan", {{"path", log.string()}});
  CHECK(r.status == Status::fail);
  CHECK(r.details["hit_count"] == 3);
  REQUIRE(r.details["hits"].size() == 3);
  CHECK(r.details["hits"][0]["line"] == 150);
  CHECK(r.details["hits"][0]["location"] == log.string() + ":150");
  CHECK(contains(r.details["hits"][0]["text"], "connection refused"));
  CHECK(r.details["hits"][2]["line"] == 190);
  CHECK(contains(r.summary, "3 error lines"));
  CHECK(contains(r.summary, log.string() + ":190"));
  CHECK(contains(r.remediation, "sed -n '140,195p'"));
  CHECK(contains(r.remediation, log.string() + ":150"));
  CHECK(r.metric("log_error_lines")->value == 3);
  CHECK(r.metric("log_error_lines")->labels["path"] == log.string());

  auto warn = run("files.log_scan", {{"path", log.string()}, {"on_match", "warn"}});
  CHECK(warn.status == Status::warn);
}

TEST_CASE("files.log_scan: only lines after the last success marker count") {
  TempDir t;
  auto log = t.write("db_backup.log",
                     backup_log(100, {{10, "ERROR: old failure, already fixed"},
                                      {20, "Backup completed successfully"},
                                      {30, "ERROR: another old one"},
                                      {40, "Backup completed successfully"},
                                      {70, "pg_dump: error: could not write to output file"}}));
  json p = {{"path", log.string()}, {"success_marker", "backup completed successfully"}};
  auto r = run("files.log_scan", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["hit_count"] == 1);
  CHECK(r.details["hits"][0]["line"] == 70);
  CHECK(r.details["files"][0]["marker_line"] == 40);
  CHECK(r.details["files"][0]["lines_scanned"] == 60);
  CHECK(contains(r.summary, "since the last success marker (line 40)"));

  auto clean = t.write(
      "clean.log", backup_log(50, {{5, "ERROR: before"}, {45, "Backup completed successfully"}}));
  auto ok =
      run("files.log_scan", {{"path", clean.string()}, {"success_marker", "Backup completed"}});
  CHECK(ok.status == Status::ok);
  CHECK(contains(ok.summary, "since the last success marker (line 45)"));
}

TEST_CASE("files.log_scan: require_marker fails when no run succeeded in the window") {
  TempDir t;
  auto log = t.write("files_backup.log", backup_log(30, {}));
  json p = {
      {"path", log.string()}, {"success_marker", "^Backup completed"}, {"require_marker", true}};
  auto r = run("files.log_scan", p);
  CHECK(r.status == Status::fail);
  CHECK(r.details["success_marker_missing"] == true);
  CHECK(contains(r.summary, "no success marker"));
  p["require_marker"] = false;
  CHECK(run("files.log_scan", p).status == Status::ok);
}

TEST_CASE("files.log_scan: last_lines, ignore, regex patterns, case, max_hits") {
  TempDir t;
  std::map<int, std::string> special;
  for (int i = 1; i <= 100; i += 3) special[i] = "line " + std::to_string(i) + " Error code 7";
  special[98] = "rsync finished with 0 errors";
  special[99] = "WARNING disk 91% full";
  auto log = t.write("x.log", backup_log(100, special));

  auto tail = run("files.log_scan", {{"path", log.string()}, {"last_lines", 10}});
  CHECK(tail.details["files"][0]["lines_scanned"] == 10);
  // 91, 94, 97, 100 have "Error"; 98 has "errors".
  CHECK(tail.details["hit_count"] == 5);

  auto ignored = run("files.log_scan",
                     {{"path", log.string()}, {"last_lines", 10}, {"ignore", {"\\b0 errors\\b"}}});
  CHECK(ignored.details["hit_count"] == 4);

  auto cased = run("files.log_scan", {{"path", log.string()},
                                      {"last_lines", 10},
                                      {"patterns", {"ERROR"}},
                                      {"ignore_case", false}});
  CHECK(cased.status == Status::ok);

  auto regex = run("files.log_scan", {{"path", log.string()}, {"patterns", {"disk [0-9]+% full"}}});
  CHECK(regex.details["hit_count"] == 1);
  CHECK(regex.details["hits"][0]["line"] == 99);

  auto capped = run("files.log_scan", {{"path", log.string()}, {"max_hits", 3}, {"last_lines", 0}});
  CHECK(capped.details["hit_count"] == 35);
  REQUIRE(capped.details["hits"].size() == 3);
  CHECK(capped.details["hits"][2]["line"] == 100);  // the most recent ones are listed

  backup_doctor::files::FilesPlugin plugin;
  auto bad = backup_doctor::testing::run_check(
      plugin, "files.log_scan", {{"path", log.string()}, {"patterns", {"(unclosed"}}});
  CHECK(bad.rc == BD_RC_ERROR);
  CHECK(contains(bad.error, "not a valid regular expression"));
}

TEST_CASE("files.log_scan: globs of several logs, missing log, no match") {
  TempDir t;
  t.write("log/db_backup.log", backup_log(20, {{5, "ERROR one"}}));
  t.write("log/files_backup.log",
          backup_log(20, {{7, "rsync error: some files vanished"}, {8, "fail"}}));
  auto r = run("files.log_scan", {{"path", (t / "log").string() + "/*.log"}});
  CHECK(r.status == Status::fail);
  CHECK(r.details["hit_count"] == 3);
  CHECK(r.details["files"].size() == 2);
  CHECK(contains(r.remediation, "files_backup.log (2)"));

  auto missing = run("files.log_scan", {{"path", (t / "log/nope.log").string()}});
  CHECK(missing.status == Status::fail);
  CHECK(contains(missing.summary, "does not exist"));
  auto none = run("files.log_scan", {{"path", (t / "other").string() + "/*.log"}});
  CHECK(none.status == Status::fail);
  CHECK(contains(none.summary, "no log file matches"));
}

TEST_CASE("files.log_scan: a large log is scanned whole with correct line numbers") {
  TempDir t;
  auto p = t / "big.log";
  {
    std::ofstream out(p);
    for (int i = 1; i <= 600000; ++i) {
      if (i == 3 || i == 599990)
        out << "ERROR at line " << i << '\n';
      else
        out << "2024-11-29 02:00:00 INFO processed chunk " << i << " of 600000 ok\n";
    }
  }
  REQUIRE(std::filesystem::file_size(p) > 30'000'000);
  auto r = run("files.log_scan", {{"path", p.string()}, {"last_lines", 0}});
  CHECK(r.details["hit_count"] == 2);
  CHECK(r.details["hits"][0]["line"] == 3);
  CHECK(r.details["hits"][1]["line"] == 599990);
  auto tail = run("files.log_scan", {{"path", p.string()}, {"last_lines", 100}});
  CHECK(tail.details["hit_count"] == 1);
  CHECK(tail.details["hits"][0]["location"] == p.string() + ":599990");
  auto cheap =
      run("files.log_scan", {{"path", p.string()}, {"last_lines", 100}, {"line_numbers_up_to", 0}});
  CHECK(cheap.details["hits"][0]["location"] == p.string() + ":(line 11 from the end)");
}

TEST_CASE("files.log_scan: the tail of a huge log is read without reading the rest") {
  TempDir t;
  auto p = t / "huge.log";
  {
    // 64 GiB of sparse prefix: reading it all would take minutes, so finishing fast proves
    // the scan streams from the end.
    std::ofstream out(p);
  }
  std::filesystem::resize_file(p, 64ull << 30);
  {
    std::ofstream out(p, std::ios::app);
    out << "\nINFO start\nERROR: tar: Unexpected EOF in archive\nINFO done\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto r = run("files.log_scan", {{"path", p.string()}, {"last_lines", 3}});
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.details["hit_count"] == 1);
  // Past the counting limit (64 MiB by default) line numbers are given from the end.
  CHECK(r.details["hits"][0]["location"] == p.string() + ":(line 2 from the end)");
  CHECK_FALSE(r.details["hits"][0].contains("line"));
  CHECK(contains(r.remediation, "tail -n 12"));
  CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("files.log_scan: the log is opened read-only and left untouched") {
  TempDir t;
  auto log = t.write("ro.log", backup_log(10, {{3, "error"}}));
  set_mode(log, 0444);
  auto before = std::filesystem::last_write_time(log);
  auto r = run("files.log_scan", {{"path", log.string()}});
  CHECK(r.status == Status::fail);
  CHECK(std::filesystem::last_write_time(log) == before);
  CHECK(std::filesystem::file_size(log) > 0);
  auto dir = run("files.log_scan", {{"path", t.path().string()}});
  CHECK(dir.status == Status::error);
}

TEST_CASE("files.log_scan: a log that is a link, FIFO or directory is not read; globs stay safe") {
  TempDir t;
  auto real = t.write("elsewhere/db.log", "ERROR: the real log\n");
  std::filesystem::create_directories(t / "log");
  std::filesystem::create_symlink(real, t / "log/db_backup.log");  // root's own link, even so
  auto r = run("files.log_scan", {{"path", (t / "log/db_backup.log").string()}});
  CHECK(r.status == Status::error);
  CHECK(contains(r.summary, "symbolic link to " + real.string()));
  CHECK(contains(r.remediation, real.string()));
  CHECK(r.details["hit_count"] == 0);

  // A glob: the regular log is scanned and its errors listed; the link makes it an error.
  t.write("log/files_backup.log", "fail: rsync exited 23\n");
  REQUIRE(mkfifo((t / "log/upload.log").c_str(), 0644) == 0);
  t.write("log/.hidden.log", "error in a hidden file\n");
  auto g = run("files.log_scan", {{"path", (t / "log").string() + "/*.log"}});
  CHECK(g.status == Status::error);
  CHECK(g.details["hit_count"] == 1);
  CHECK(g.details["files"].size() == 1);  // files_backup.log; not the hidden one, as glob(3)
  CHECK(g.details["not_read"].size() == 2);
  CHECK(contains(g.summary, "2 of 3 logs not scanned"));
  CHECK(contains(g.summary, "in the others: 1 error line"));

  // A glob through a link in the middle is not followed; real directories are.
  t.write("jobs/db/x.log", "all fine\n");
  std::filesystem::create_directories(t / "jobs");
  std::filesystem::create_symlink(t / "elsewhere", t / "jobs/linked");
  auto m = run("files.log_scan", {{"path", (t / "jobs").string() + "/*/*.log"}});
  CHECK(m.status == Status::error);
  CHECK(m.details["files"].size() == 1);
  CHECK(contains(m.summary, (t / "jobs/linked").string()));
}
