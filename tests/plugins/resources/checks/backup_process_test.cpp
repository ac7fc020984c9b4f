#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <thread>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::FakeHost;
using backup_doctor::resources::test::metric_with;
using backup_doctor::resources::test::swapping_hooks;
using backup_doctor::sdk::Status;
using backup_doctor::testing::run_check;

namespace {

const long kTicks = ::sysconf(_SC_CLK_TCK);

// A process entry in the fixture /proc that has run for `runtime` seconds (uptime is 100000 s).
void process(const FakeHost& h, int pid, const std::string& comm, char state,
             const std::vector<std::string>& argv, double runtime, long nice = 0) {
  std::string p = std::to_string(pid);
  unsigned long start = static_cast<unsigned long>((100000.0 - runtime) * kTicks);
  h.proc_file(p + "/stat", p + " (" + comm + ") " + state + " 1 1 1 0 -1 0 0 0 0 0 100 50 0 0 20 " +
                               std::to_string(nice) + " 1 0 " + std::to_string(start) + " 1 1\n");
  std::string cmd;
  for (const auto& a : argv) cmd += a + std::string(1, '\0');
  h.proc_file(p + "/cmdline", cmd);
  h.proc_file(p + "/comm", comm + "\n");
  h.proc_file(p + "/status", "Name:\t" + comm + "\nUid:\t0\t0\t0\t0\n");
}

void io(const FakeHost& h, int pid, uint64_t rchar, uint64_t wchar, uint64_t rb, uint64_t wb) {
  h.proc_file(std::to_string(pid) + "/io",
              "rchar: " + std::to_string(rchar) + "\nwchar: " + std::to_string(wchar) +
                  "\nsyscr: 1\nsyscw: 1\nread_bytes: " + std::to_string(rb) +
                  "\nwrite_bytes: " + std::to_string(wb) + "\ncancelled_write_bytes: 0\n");
}

nlohmann::json find_pid(const nlohmann::json& details, int pid) {
  for (const auto& p : details["processes"])
    if (p["pid"] == pid) return p;
  return nullptr;
}

struct ProcFixture {
  FakeHost h;
  ProcFixture() {
    h.proc_file("uptime", "100000.00 400000.00\n");
    process(h, 500, "nginx", 'S', {"nginx: worker"}, 5000);
    process(h, 600, "tar", 'I', {}, 5000);  // a kernel thread: no command line, never a backup
  }
};

}  // namespace

TEST_CASE("resources.backup_process: nothing running is ok") {
  ProcFixture f;
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(r.summary.find("no backup process is running") != std::string::npos);
  CHECK(r.details["count"] == 0);
  CHECK(metric_with(r, "backup_processes", "count")->value == 0);
}

TEST_CASE("resources.backup_process: an uptime no kernel writes is an error naming it") {
  ProcFixture f;
  f.h.proc_file("uptime", "1e300 400000.00\n");  // the runtimes would overflow milliseconds
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::error);
  CHECK(r.error.find("/uptime holds 1e300, not a number of seconds") != std::string::npos);
}

TEST_CASE("resources.backup_process: a backup moving data is ok, with its figures") {
  ProcFixture f;
  process(f.h, 100, "pg_dump", 'S',
          {"/usr/bin/pg_dump", "-h", "db", "--password=hunter2", "trixtech"}, 600, 10);
  io(f.h, 100, 1000, 1000, 0, 4096);
  ResourcesPlugin plugin(swapping_hooks([&] { io(f.h, 100, 500000, 400000, 0, 409600); }, 5000));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["count"] == 1);
  auto p = find_pid(r.details, 100);
  REQUIRE(!p.is_null());
  CHECK(p["made_progress"] == true);
  CHECK(p["nice"] == 10);
  CHECK(p["runtime_seconds"].get<double>() == doctest::Approx(600).epsilon(0.01));
  CHECK(p["io"]["write_bytes"] == 409600 - 4096);
  CHECK(p["cmdline"] == "/usr/bin/pg_dump -h db --password=*** trixtech");
  CHECK(r.summary.find("pg_dump (pid 100) running 10m") != std::string::npos);
  CHECK(metric_with(r, "backup_process_runtime", "seconds")->labels["pid"] == "100");
  CHECK(metric_with(r, "backup_processes", "count")->value == 1);
  CHECK(r.details.dump().find("hunter2") == std::string::npos);
}

TEST_CASE("resources.backup_process: no I/O during the sample warns, in state D fails") {
  ProcFixture f;
  process(f.h, 200, "rsync", 'S', {"rsync", "-a", "/opt/trixtech/", "/opt/backups/files/"}, 3600);
  io(f.h, 200, 5000, 5000, 4096, 4096);
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto warn = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(warn.status == Status::warn);
  CHECK(warn.summary.find("rsync (pid 200, running 1h, sleeping) did no I/O in 1s") !=
        std::string::npos);
  CHECK(warn.remediation.find("cat /proc/200/wchan") != std::string::npos);
  CHECK(find_pid(warn.details, 200)["made_progress"] == false);

  process(f.h, 200, "rsync", 'D', {"rsync", "-a", "/opt/trixtech/", "/opt/backups/files/"}, 3600);
  auto fail = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(fail.status == Status::fail);
  CHECK(fail.summary.find("uninterruptible") != std::string::npos);
}

TEST_CASE("resources.backup_process: many quiet processes make one finding, not one each") {
  ProcFixture f;
  for (int pid = 700; pid < 720; ++pid) {
    process(f.h, pid, "rsync", 'S', {"rsync", "--server"}, 60);
    io(f.h, pid, 1, 1, 0, 0);
  }
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r =
      run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}, {"max_items", 5}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("20 backup processes (rsync (pid 700") != std::string::npos);
  CHECK(r.summary.find("17 more)") != std::string::npos);
  CHECK(r.summary.size() < 400);
  CHECK(r.remediation.find("kill 700 701 702") != std::string::npos);
  CHECK(r.details["count"] == 20);
  CHECK(r.details["processes"].size() == 5);
  CHECK(r.details["processes_truncated"] == true);
}

TEST_CASE(
    "resources.backup_process: a zombie backup (no command line left) warns about its parent") {
  ProcFixture f;
  process(f.h, 310, "pg_dump", 'Z', {}, 60);
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("never collected by the parent") != std::string::npos);
  CHECK(r.remediation.find("parent (pid 1)") != std::string::npos);
}

TEST_CASE("resources.backup_process: a stopped backup fails with kill -CONT") {
  ProcFixture f;
  process(f.h, 300, "tar", 'T', {"tar", "-czf", "/opt/backups/files/x.tar.gz", "/opt/trixtech"},
          120);
  io(f.h, 300, 1, 1, 0, 0);
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::fail);
  CHECK(r.remediation.find("kill -CONT 300") != std::string::npos);
}

TEST_CASE("resources.backup_process: max_runtime on both sides") {
  ProcFixture f;
  process(f.h, 100, "pg_dump", 'S', {"pg_dump", "trixtech"}, 7200);
  io(f.h, 100, 0, 0, 0, 0);
  ResourcesPlugin moving(swapping_hooks([&] { io(f.h, 100, 10, 10, 0, 0); }));
  CHECK(run_check(moving, "resources.backup_process",
                  {{"proc_root", f.h.proc()}, {"max_runtime", "3h"}})
            .status == Status::ok);
  io(f.h, 100, 0, 0, 0, 0);
  auto slow = run_check(moving, "resources.backup_process",
                        {{"proc_root", f.h.proc()}, {"max_runtime", "1h"}});
  CHECK(slow.status == Status::warn);
  CHECK(slow.summary.find(
            "pg_dump (pid 100, running 2h) still running, longer than max_runtime 1h") !=
        std::string::npos);
  io(f.h, 100, 0, 0, 0, 0);
  ResourcesPlugin idle(swapping_hooks(nullptr));
  auto hung = run_check(idle, "resources.backup_process",
                        {{"proc_root", f.h.proc()}, {"max_runtime", "1h"}});
  CHECK(hung.status == Status::fail);
}

TEST_CASE("resources.backup_process: backup scripts via their interpreter, names param") {
  ProcFixture f;
  process(f.h, 400, "bash", 'S', {"/bin/bash", "/opt/backup-scripts/db_backup.sh"}, 30);
  io(f.h, 400, 0, 0, 0, 0);
  ResourcesPlugin plugin(swapping_hooks([&] { io(f.h, 400, 100, 0, 0, 0); }));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(find_pid(r.details, 400)["matched"] == "db_backup.sh");
  auto none = run_check(plugin, "resources.backup_process",
                        {{"proc_root", f.h.proc()}, {"names", {"borg"}}});
  CHECK(none.details["count"] == 0);
}

TEST_CASE("resources.backup_process: I/O class reported and required idle on both sides") {
  ProcFixture f;
  process(f.h, 100, "pg_dump", 'S', {"pg_dump"}, 60);
  io(f.h, 100, 0, 0, 0, 0);
  int klass = 3;
  auto prio = [&](const std::string&, int) -> std::optional<int> { return klass << 13; };
  ResourcesPlugin plugin(swapping_hooks([&] { io(f.h, 100, 1, 0, 0, 0); }, 1000, prio));
  auto idle = run_check(plugin, "resources.backup_process",
                        {{"proc_root", f.h.proc()}, {"require_idle_io", true}});
  CHECK(idle.status == Status::ok);
  CHECK(find_pid(idle.details, 100)["io_class"] == "idle");
  klass = 0;
  io(f.h, 100, 0, 0, 0, 0);
  auto be = run_check(plugin, "resources.backup_process",
                      {{"proc_root", f.h.proc()}, {"require_idle_io", true}});
  CHECK(be.status == Status::warn);
  CHECK(be.remediation.find("ionice -c 3 -p 100") != std::string::npos);
  io(f.h, 100, 0, 0, 0, 0);
  CHECK(run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}}).status ==
        Status::ok);
}

TEST_CASE("resources.backup_process: a backup that ends during the sample made progress") {
  ProcFixture f;
  process(f.h, 100, "pg_dump", 'S', {"pg_dump"}, 60);
  io(f.h, 100, 0, 0, 0, 0);
  ResourcesPlugin plugin(
      swapping_hooks([&] { std::filesystem::remove_all(f.h.dir.path() / "proc/100"); }));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(find_pid(r.details, 100)["finished_during_sample"] == true);
}

TEST_CASE("resources.backup_process: an unreadable /proc/PID/io is reported, not judged") {
  ProcFixture f;
  process(f.h, 100, "pg_dump", 'S', {"pg_dump"}, 60);
  ResourcesPlugin plugin(swapping_hooks(nullptr));
  auto r = run_check(plugin, "resources.backup_process", {{"proc_root", f.h.proc()}});
  CHECK(r.status == Status::ok);
  CHECK(find_pid(r.details, 100)["made_progress"].is_null());
  CHECK(find_pid(r.details, 100).contains("io_unreadable"));
}

namespace {
// A copy of a system program under another name, started as a child and killed at the end.
struct Child {
  pid_t pid = -1;
  Child(const std::string& program, const std::vector<std::string>& args) {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};
}  // namespace

TEST_CASE(
    "resources.backup_process on the live host: idle class via ioprio_get, progress via "
    "/proc/PID/io") {
  backup_doctor::test::TempDir t;
  std::string tag = std::to_string(::getpid() % 100000);
  std::string sleeper = (t.path() / ("bdslp" + tag)).string();
  std::string copier = (t.path() / ("bddd" + tag)).string();
  std::filesystem::copy_file("/bin/sleep", sleeper);
  std::filesystem::copy_file("/bin/dd", copier);
  Child idle(sleeper, {sleeper, "30"});
  Child busy(copier, {copier, "if=/dev/zero", "of=/dev/null", "bs=64k", "status=none"});
  // Put the sleeper in the idle I/O class, as `ionice -c 3 -p PID` does.
  REQUIRE(::syscall(SYS_ioprio_set, 1, idle.pid, 3 << 13) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let both exec

  ResourcesPlugin plugin;
  auto r = run_check(plugin, "resources.backup_process",
                     {{"names", {"bdslp" + tag, "bddd" + tag}}, {"sample", "300ms"}});
  REQUIRE(r.details["count"] == 2);
  auto s = find_pid(r.details, idle.pid);
  auto d = find_pid(r.details, busy.pid);
  REQUIRE(!s.is_null());
  REQUIRE(!d.is_null());
  CHECK(s["io_class"] == "idle");
  CHECK(s["made_progress"] == false);
  CHECK(d["io_class"] == "best-effort");
  CHECK(d["made_progress"] == true);
  CHECK(d["io"]["rchar"].get<uint64_t>() > 0);
  CHECK(s["runtime_seconds"].get<double>() >= 0);
  CHECK(s["runtime_seconds"].get<double>() < 60);
  CHECK(r.status == Status::warn);  // the sleeper made no I/O
  CHECK(r.summary.find("did no I/O") != std::string::npos);
  CHECK(r.details["sample_seconds"].get<double>() >= 0.29);
}
