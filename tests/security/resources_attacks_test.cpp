// Attacks on the resources checks: other processes' command lines carry secrets (the backup
// account's own jobs, written the usual careless ways) and can be as long as their owner likes;
// a "backup" in the account's directory can be a link to root's files.
#include "contained.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>

using namespace backup_doctor;
using namespace backup_doctor::test;
namespace fs = std::filesystem;

namespace {

// Starts argv as the backup account, in the background.
pid_t spawn_as_attacker(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    const auto& u = attacker();
    if (setgid(u.gid) != 0 || setuid(u.uid) != 0) _exit(99);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

struct Processes {
  std::vector<pid_t> pids;
  ~Processes() {
    for (pid_t p : pids) kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
  }
};

}  // namespace

TEST_CASE("secrets in backup processes' command lines appear in no output, however written") {
  Scene scene;
  auto script = scene.plant("backup-job.sh", "#!/bin/sh\nsleep 30\n", 0755);
  std::vector<std::string> s;
  for (int i = 0; i < 14; ++i) s.push_back(unique_token("S" + std::to_string(i) + "x"));
  const std::string sh = "/bin/sh", job = script.string();
  Processes procs;
  // argv[0] faked with exec -a, as a wrapper script might.
  procs.pids.push_back(spawn_as_attacker(
      {"/bin/bash", "-c", "exec -a \"mysqldump -p" + s[0] + " --all-databases\" sleep 30"}));
  procs.pids.push_back(spawn_as_attacker({sh, job, "sshpass", "-p", s[1], "rsync", "-a", "x"}));
  procs.pids.push_back(spawn_as_attacker({sh, job, "sshpass", "-p" + s[2], "ssh", "host"}));
  procs.pids.push_back(spawn_as_attacker({sh, job, "curl", "-u", "backup:" + s[3], "-H",
                                          "Authorization: Bearer " + s[4], "https://x"}));
  procs.pids.push_back(
      spawn_as_attacker({sh, job, "pg_dump", "host=db password=" + s[5] + " dbname=x",
                         "postgresql://u:" + s[6] + "@db/x", "PGPASSWORD=" + s[7]}));
  procs.pids.push_back(spawn_as_attacker({sh, job, "aws", "--secret-access-key", s[8],
                                          "--token=" + s[9], "mysql", "-uroot", "-p" + s[10]}));
  procs.pids.push_back(spawn_as_attacker(
      {"/bin/bash", "-c",
       "mysqldump -uroot -p" + s[11] + " db 2>&- | gzip -c >&- 2>&-; sleep 30; true"}));
  procs.pids.push_back(spawn_as_attacker(
      {sh, job, "curl", "--user=u:" + s[12], "--password", s[13], "db_password='a b'"}));
  // A command line of a little over 1 MiB (16 arguments of 64 KiB).
  std::vector<std::string> huge = {sh, job, "--db", "big"};
  for (int i = 0; i < 16; ++i) huge.push_back(std::string(64 * 1024, static_cast<char>('a' + i)));
  procs.pids.push_back(spawn_as_attacker(huge));
  usleep(500 * 1000);

  nlohmann::json checks = {
      {{"id", "procs"},
       {"use", "resources.backup_process"},
       {"timeout", "60s"},
       {"with", {{"names", {"mysqldump*", "*backup*.sh"}}, {"sample", "1s"}, {"max_items", 50}}}}};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  const auto& r = o.result("procs");
  INFO(r.dump().substr(0, 4000));
  CHECK(r["details"]["count"].get<int>() >= 9);
  bool truncated_seen = false;
  for (const auto& p : r["details"]["processes"]) {
    if (p.value("cmdline_truncated", false)) truncated_seen = true;
    CHECK(p["cmdline"].get<std::string>().size() <= 303);
  }
  CHECK(truncated_seen);
  CHECK(o.everything.size() < 512 * 1024);  // the 1 MiB line is not copied around
  check_contained(scene, o, before, {.secrets = s, .within = std::chrono::seconds(30)});
}

TEST_CASE("resources.disk does not size root's files through a link posing as the newest backup") {
  Scene scene;
  scene.plant("backups/db-2024-01-01.sql.gz", std::string(1000, 'x'));
  sleep(1);
  // Root's directory changed after the real backup was written: followed, it would look newest.
  std::ofstream(scene.base() / "root-only" / "newer") << std::string(5000, 'r');
  auto link =
      scene.plant_symlink("backups/db-2024-01-02.sql.gz", (scene.base() / "root-only").string());
  nlohmann::json checks = {
      {{"id", "disk"},
       {"use", "resources.disk"},
       {"with",
        {{"path", scene.home().string()},
         {"backup_glob", (scene.home() / "backups" / "db-*.sql.gz").string()}}}}};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  const auto& d = o.result("disk")["details"];
  REQUIRE(d.contains("newest_backup"));
  CHECK(d["newest_backup"]["path"] != link.string());
  CHECK(d["newest_backup"]["size_bytes"] == 1000);
  check_contained(scene, o, before, {});
}
