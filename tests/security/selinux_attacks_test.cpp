// Attacks on the selinux checks: an audit log (or a rotated one) in the backup account's
// directory swapped for a link to root's own audit log, a FIFO, or a line that never ends; a
// backup path that is a link into root's files.
#include "contained.hpp"

#include "support/child.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <chrono>
#include <fstream>

using namespace backup_doctor;
using namespace backup_doctor::test;
namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An AVC denial of rsync as auditd writes it, naming `path`.
std::string avc_line(const std::string& path, int serial) {
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "msg=audit(%.3f:%d):", now_seconds() - 60, serial);
  return "type=AVC " + std::string(stamp) +
         " avc:  denied  { read } for  pid=4242 comm=\"rsync\" " + "name=\"" + path +
         "\" dev=\"dm-0\" ino=77 scontext=system_u:system_r:rsync_t:s0 " +
         "tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0\n";
}

// Root's own audit log, which the backup account may not read: its denials name root's secret.
fs::path root_audit_log(const Scene& scene) {
  auto log = scene.base() / "root-only" / "audit.log";
  std::ofstream(log) << avc_line("/root/" + scene.secret_token(), 1);
  chmod(log.c_str(), 0600);
  auto gz = scene.base() / "root-only" / "audit.log.2.gz";
  auto r =
      support::run_process({"sh", "-c", "gzip -c '" + log.string() + "' > '" + gz.string() + "'"});
  REQUIRE(r.ok());
  chmod(gz.c_str(), 0600);
  return log;
}

nlohmann::json denials(const std::string& id, const fs::path& log) {
  return {{"id", id},
          {"use", "selinux.denials"},
          {"timeout", "60s"},
          {"with", {{"audit_log", log.string()}, {"programs", nlohmann::json::array()}}}};
}

}  // namespace

TEST_CASE("an audit log swapped for a link to root's audit log is not read") {
  Scene scene;
  auto root_log = root_audit_log(scene);
  auto link = scene.plant_symlink("audit/audit.log", root_log.string());
  // The live log is real, its rotated predecessors are links to root's logs.
  scene.plant("rotated/audit.log", avc_line("/srv/backup/own-file", 2));
  scene.plant_symlink("rotated/audit.log.1", root_log.string());
  scene.plant_symlink("rotated/audit.log.2.gz",
                      (scene.base() / "root-only" / "audit.log.2.gz").string());
  nlohmann::json checks = {denials("live", link),
                           denials("rotated", scene.home() / "rotated/audit.log")};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  CHECK(o.result("live")["status"] == "error");
  CHECK(o.result("live")["summary"].get<std::string>().find("symbolic link") != std::string::npos);
  const auto& rotated = o.result("rotated");
  CHECK(rotated["details"]["audit_logs"].size() == 1);  // the links are no rotated logs
  CHECK(rotated["details"]["denials"] == 1);            // the account's own denial only
  check_contained(scene, o, before, {});
}

TEST_CASE("a FIFO as the audit log or a rotated log neither hangs the check nor is opened") {
  Scene scene;
  auto fifo = scene.plant_fifo("audit/audit.log");
  scene.plant("rotated/audit.log", avc_line("/srv/backup/own-file", 3));
  scene.plant_fifo("rotated/audit.log.1");
  nlohmann::json checks = {denials("live", fifo),
                           denials("rotated", scene.home() / "rotated/audit.log")};
  checks[0]["timeout"] = "20s";
  checks[1]["timeout"] = "20s";
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  CHECK(o.result("live")["status"] == "error");
  CHECK(o.result("live")["summary"].get<std::string>().find("FIFO") != std::string::npos);
  CHECK(o.result("rotated")["details"]["denials"] == 1);
  check_contained(scene, o, before, {.within = std::chrono::seconds(15)});
}

TEST_CASE("a 100 MB line without a newline is cut, in bounded memory and little time") {
  Scene scene;
  auto log = scene.home() / "audit.log";
  as_attacker([&] {
    std::ofstream out(log, std::ios::binary);
    out << avc_line("/srv/backup/own-file", 4);
    std::string chunk(1 << 20, 'A');
    for (int i = 0; i < 100; ++i) out << chunk;
  });
  auto checks = nlohmann::json::array({denials("long", log)});
  auto before = tree_listing(scene.base());
  // In a child, so that its rusage covers only this run (the runner and its check).
  auto seen = run_in_child([&] {
    auto o = run_as_root(scene, checks);
    struct rusage ru {};
    getrusage(RUSAGE_CHILDREN, &ru);
    return nlohmann::json{{"report", o.report},
                          {"everything", o.everything},
                          {"elapsed_ms", o.elapsed.count()},
                          {"max_rss_kib", ru.ru_maxrss}};
  });
  INFO(seen.dump().substr(0, 3000));
  const auto& r = seen["report"]["results"][0];
  CHECK(r["details"]["overlong_lines"] == 1);
  CHECK(r["details"]["denials"] == 1);
  CHECK(r["summary"].get<std::string>().find("longer than 64 KiB") != std::string::npos);
  CHECK(seen["max_rss_kib"].get<long>() < 64 * 1024);
  CHECK(seen["elapsed_ms"].get<long>() < 30'000);
  CHECK(seen["everything"].get<std::string>().find(scene.secret_token()) == std::string::npos);
  auto after = tree_listing(scene.base());
  drop_reports(after);
  CHECK(after == before);
}

TEST_CASE("selinux.contexts checks a planted link as a link and never walks into root's files") {
  Scene scene;
  auto selinuxfs = scene.base() / "conf" / "selinuxfs";
  fs::create_directories(selinuxfs);
  std::ofstream(selinuxfs / "enforce") << "1";
  scene.plant("data2/own.sql", "x");
  auto link = scene.plant_symlink("data", (scene.base() / "root-only").string());
  scene.plant_symlink("data2/evil", (scene.base() / "root-only").string());
  nlohmann::json checks = {{{"id", "labels"},
                            {"use", "selinux.contexts"},
                            {"with",
                             {{"paths", {link.string(), (scene.home() / "data2").string()}},
                              {"recursive", true},
                              {"expected_type", "postgresql_db_t"},
                              {"selinuxfs_root", selinuxfs.string()},
                              {"config", (scene.base() / "conf" / "no-config").string()}}}}};
  auto before = tree_listing(scene.base());
  auto o = run_as_root(scene, checks);
  const auto& r = o.result("labels");
  CHECK(r["status"] == "fail");
  CHECK(r["details"]["checked"] == 4);  // data (the link), data2, data2/own.sql, data2/evil
  CHECK(o.everything.find("shadow") == std::string::npos);
  check_contained(scene, o, before, {});
}
