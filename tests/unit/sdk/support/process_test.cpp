// The process runner: what a program started for a check can see, who it runs as, and that
// nothing it starts outlives it.
#include <backup_doctor/support/process.hpp>
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

using namespace backup_doctor;
using backup_doctor::test::processes_with;
using namespace std::chrono_literals;

namespace {

support::UserIds test_user() {
  auto u = support::lookup_user("backup-doctor-test");
  REQUIRE_MESSAGE(u.has_value(), "scripts/setup creates the backup-doctor-test account");
  return *u;
}

bool eventually_none(const std::string& marker) {
  for (int i = 0; i < 100; ++i) {
    if (processes_with(marker) == 0) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE("the child gets an allow-listed environment, never what the check inherited") {
  setenv("BD_TEST_DB_PASSWORD", "s3cr3t-from-env", 1);
  setenv("LC_TIME", "C.UTF-8", 1);
  support::ProcessOptions o;
  o.env["PGDATABASE"] = "scratch";
  auto r = support::run_process({"env"}, o);
  unsetenv("BD_TEST_DB_PASSWORD");
  REQUIRE(r.ok());
  CHECK(r.out.find("s3cr3t") == std::string::npos);
  CHECK(r.out.find("LC_TIME=C.UTF-8") != std::string::npos);
  CHECK(r.out.find("PGDATABASE=scratch") != std::string::npos);
  CHECK(r.out.find("PATH=/") != std::string::npos);
  CHECK(r.out.find("PATH=:") == std::string::npos);
  CHECK(r.out.find("::") == std::string::npos);
}

TEST_CASE("no descriptor of the check reaches the program") {
  test::TempDir dir;
  auto f = dir.write("backup.tar.gz", "data");
  int fd = ::open(f.c_str(), O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(dup2(fd, 57) == 57);
  auto r = support::run_process({"ls", "-1", "/proc/self/fd"});
  close(57);
  close(fd);
  REQUIRE(r.ok());
  CHECK(r.out.find("57") == std::string::npos);
}

TEST_CASE("as root, a program someone else can change is not run as root") {
  test::TempDir dir;
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);  // the account must reach its own directory
  auto bin = dir / "bin";
  std::filesystem::create_directory(bin);
  auto user = test_user();
  REQUIRE(chown(bin.c_str(), user.uid, user.gid) == 0);
  auto tool = bin / "pg_dump";
  { std::ofstream(tool) << "#!/bin/sh\nid -u > \"$1\"\n"; }
  REQUIRE(chmod(tool.c_str(), 0755) == 0);
  auto marker = dir / "out";
  std::filesystem::create_directory(marker);
  REQUIRE(chown(marker.c_str(), user.uid, user.gid) == 0);

  auto refused = support::run_process({tool.string(), (marker / "as-root").string()});
  CHECK_FALSE(refused.started);
  CHECK(refused.refused_untrusted);
  CHECK(refused.start_error.find("backup-doctor-test") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(marker / "as-root"));
  CHECK(support::untrusted_program_reason(tool.string()) != "");
  CHECK(support::untrusted_program_reason("/usr/bin/env") == "");

  support::ProcessOptions as_user;
  as_user.as_user = user;
  auto ran = support::run_process({tool.string(), (marker / "as-user").string()}, as_user);
  REQUIRE(ran.ok());
  struct stat st {};
  REQUIRE(stat((marker / "as-user").c_str(), &st) == 0);
  CHECK(st.st_uid == user.uid);
}

TEST_CASE("a program run as another user cannot get root back") {
  support::ProcessOptions o;
  o.as_user = test_user();
  auto r = support::run_process({"sh", "-c", "id -u; id -G; grep NoNewPrivs /proc/self/status"}, o);
  REQUIRE(r.ok());
  CHECK(r.out.find(std::to_string(o.as_user->uid) + "\n") == 0);
  CHECK(r.out.find("\n0\n") == std::string::npos);  // no supplementary group root
  CHECK(r.out.find("NoNewPrivs:\t1") != std::string::npos);
}

TEST_CASE("a timeout stops the whole group: SIGTERM first, then SIGKILL") {
  test::TempDir dir;
  auto trapped = dir / "got-term";
  support::ProcessOptions o;
  o.timeout = 1500ms;  // time for sh to start and set its trap, even on a loaded machine
  o.kill_grace = 1000ms;
  auto started = std::chrono::steady_clock::now();
  auto r = support::run_process(
      {"sh", "-c",
       "trap 'echo > " + trapped.string() + "' TERM; sleep 1000.123 & sleep 1000.124; wait"},
      o);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(r.timed_out);
  INFO(r.describe() << " err: " << r.err);
  CHECK(std::filesystem::exists(trapped));
  CHECK(eventually_none("1000.123"));
  CHECK(eventually_none("1000.124"));
}

TEST_CASE("what a program leaves running in its group is killed when it exits") {
  auto started = std::chrono::steady_clock::now();
  auto r = support::run_process({"sh", "-c", "sleep 1000.456 & echo started"});
  CHECK(std::chrono::steady_clock::now() - started < 5s);  // the sleep holds stdout: not waited on
  REQUIRE(r.ok());
  CHECK(r.out == "started\n");
  CHECK(eventually_none("1000.456"));
}

TEST_CASE("PATH entries that would mean the working directory are never searched") {
  test::TempDir dir;
  auto tool = dir.write("sneaky", "#!/bin/sh\necho ran\n");
  REQUIRE(chmod(tool.c_str(), 0755) == 0);
  char old[4096];
  REQUIRE(getcwd(old, sizeof old) != nullptr);
  REQUIRE(chdir(dir.path().c_str()) == 0);
  CHECK(support::find_program("sneaky", ":/nonexistent") == "");
  CHECK(support::find_program("sneaky", ".:bin") == "");
  CHECK(support::find_program("./sneaky") == "");
  CHECK(support::find_program("sneaky", dir.path().string()) == tool.string());
  REQUIRE(chdir(old) == 0);
}

TEST_CASE("stdin can be streamed from a producer, more than a pipe holds") {
  size_t produced = 0;
  support::ProcessOptions o;
  o.stdin_producer = [&](std::string& chunk) {
    if (produced >= (10u << 20)) return false;
    chunk.assign(64u << 10, 'x');
    produced += chunk.size();
    return true;
  };
  auto r = support::run_process({"wc", "-c"}, o);
  REQUIRE(r.ok());
  CHECK(r.out == std::to_string(10u << 20) + "\n");
}

TEST_CASE("a descriptor can be the program's stdin, so it never opens the path itself") {
  test::TempDir dir;
  auto f = dir.write("dump.sql", "SELECT 1;\n");
  int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  support::ProcessOptions o;
  o.stdin_fd = fd;
  auto r = support::run_process({"cat"}, o);
  close(fd);
  REQUIRE(r.ok());
  CHECK(r.out == "SELECT 1;\n");
}
