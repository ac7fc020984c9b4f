// Attacks on the core itself: the files that decide what runs as root (checklists, profiles,
// plugins), and text from checks on its way to a terminal or a CI report.
#include "hostile.hpp"

#include <sys/stat.h>

#include <fstream>

using namespace backup_doctor;
using namespace backup_doctor::test;

TEST_CASE("as root, a checklist the backup account could change is refused") {
  Scene scene;
  auto marker = scene.home() / "ran";
  auto payload = scene.plant_payload("evil.sh", marker);
  nlohmann::json checks = {
      {{"id", "tools"}, {"use", "files.tools"}, {"with", {{"tools", {payload.string()}}}}}};
  auto theirs = scene.plant("checklist.json", checklist_json(checks));
  auto r = run_bd({"run", theirs.string()});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(theirs.string() + ": refused:") != std::string::npos);
  CHECK(r.err.find("backup-doctor-test") != std::string::npos);
  CHECK(marker_owner(marker) == -1);

  // Root's own file, but in a directory the account can write: it could be swapped.
  auto in_their_dir = scene.home() / "root-made.json";
  std::ofstream(in_their_dir) << checklist_json(checks);
  auto v = run_bd({"validate", in_their_dir.string()});
  CHECK(v.exit_code == 2);
  CHECK(v.err.find("refused") != std::string::npos);

  // Group-writable: anyone in the group decides what runs.
  auto shared = scene.base() / "conf" / "shared.json";
  std::ofstream(shared) << checklist_json(checks);
  chmod(shared.c_str(), 0664);
  auto g = run_bd({"validate", shared.string()});
  CHECK(g.exit_code == 2);
  CHECK(g.err.find("writable by group") != std::string::npos);
}

TEST_CASE("--profile takes a name, never a path to someone else's file") {
  Scene scene;
  auto marker = scene.home() / "ran";
  auto payload = scene.plant_payload("evil.sh", marker);
  scene.plant("evil.json", R"({"vars": {"tool": ")" + payload.string() + R"("}})");
  nlohmann::json checks = {
      {{"id", "tools"}, {"use", "files.tools"}, {"with", {{"tools", {"${tool}"}}}}}};
  auto file = scene.checklist(checks);
  std::ofstream(file.string()) << checklist_json(checks, {{"vars", {{"tool", "true"}}}});
  for (const std::string& name : std::vector<std::string>{
           "../../backups/evil", (scene.home() / "evil").string(), ".hidden"}) {
    CAPTURE(name);
    auto r = run_bd({"run", file.string(), "--profile", name});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("is not a profile name") != std::string::npos);
  }
  CHECK(marker_owner(marker) == -1);
}

TEST_CASE("a checklist nested 200,000 deep is an error with its position, not a crash") {
  Scene scene;
  auto file = scene.base() / "conf" / "deep.json";
  {
    std::ofstream out(file);
    out << "{\"checks\": ";
    for (int i = 0; i < 200000; ++i) out << '[';
    for (int i = 0; i < 200000; ++i) out << ']';
    out << "}";
  }
  auto r = run_bd({"validate", file.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.signal == 0);
  CHECK(r.err.find(file.string() + ":1:") != std::string::npos);
  CHECK(r.err.find("nested deeper than") != std::string::npos);
}

TEST_CASE("plugins are loaded only from files and directories nobody else can change") {
  Scene scene;
  auto plugins = scene.home() / "plugins";
  std::filesystem::create_directory(plugins);
  std::filesystem::copy_file(std::string(BD_PLUGIN_BUILD_DIR) + "/backup-doctor-files.so",
                             plugins / "backup-doctor-evil.so");
  REQUIRE(chown(plugins.c_str(), attacker().uid, attacker().gid) == 0);
  auto r = run_bd({"--plugin-dir", plugins.string(), "plugins"});
  CHECK(r.out.find("backup-doctor-evil.so") != std::string::npos);
  CHECK(r.out.find("its directory can be changed by someone else") != std::string::npos);

  // A link in a root-owned directory to a real plugin is not followed either.
  auto linked = scene.base() / "linked";
  std::filesystem::create_directory(linked);
  std::filesystem::create_symlink(std::string(BD_PLUGIN_BUILD_DIR) + "/backup-doctor-files.so",
                                  linked / "backup-doctor-other.so");
  auto l = run_bd({"--plugin-dir", linked.string(), "plugins"});
  CHECK(l.out.find("it is a symbolic link") != std::string::npos);

  // A relative entry would mean "wherever the run starts".
  auto rel = run_bd({"--plugin-dir", "plugins", "plugins"}, {{"BACKUP_DOCTOR_PLUGIN_PATH", "x:y"}});
  CHECK(rel.err.find("plugin search path entry 'plugins' is relative and was ignored") !=
        std::string::npos);
}

TEST_CASE("a log line cannot drive the operator's terminal or break a CI report") {
  Scene scene;
  // Retitle the terminal, then draw a green OK and an invalid UTF-8 / C1 CSI sequence.
  std::string evil =
      "fatal error \x1b]0;owned\x07 \x1b[2K\r\x1b[32mOK\x1b[0m all fine \x9b"
      "31m "
      "\xc2\x9b"
      "32m \x01\x02 done\n";
  auto log = scene.plant("db_backup.log", "started\n" + evil);
  nlohmann::json checks = {
      {{"id", "log"}, {"use", "files.log_scan"}, {"with", {{"path", log.string()}}}}};
  auto file = scene.checklist(checks);
  auto text = run_bd({"run", file.string(), "--color", "never", "--report",
                      "junit=" + (scene.base() / "conf" / "junit.xml").string(), "--report",
                      "nagios=" + (scene.base() / "conf" / "nagios.txt").string()});
  CHECK(text.exit_code == 2);
  CHECK(text.out.find("fatal error") != std::string::npos);
  CHECK(text.out.find('\x1b') == std::string::npos);
  CHECK(text.out.find('\x07') == std::string::npos);
  CHECK(text.out.find("\xc2\x9b") == std::string::npos);
  CHECK(text.out.find("\\x1b]0;owned\\x07") != std::string::npos);  // shown, harmless
  std::ifstream nagios(scene.base() / "conf" / "nagios.txt");
  std::string n((std::istreambuf_iterator<char>(nagios)), {});
  CHECK(n.find('\x1b') == std::string::npos);
  auto lint =
      support::run_process({"xmllint", "--noout", (scene.base() / "conf" / "junit.xml").string()});
  CHECK_MESSAGE(lint.ok(), lint.err);
}

TEST_CASE("report files get the operator's umask, not a fixed mode") {
  Scene scene;
  auto log = scene.plant("ok.log", "all good\n");
  nlohmann::json checks = {
      {{"id", "log"}, {"use", "files.log_scan"}, {"with", {{"path", log.string()}}}}};
  auto file = scene.checklist(checks);
  auto report = scene.base() / "conf" / "private.json";
  mode_t old = umask(077);
  auto r = run_bd({"run", file.string(), "--report", "json=" + report.string()});
  umask(old);
  CHECK(r.exit_code == 0);
  struct stat st {};
  REQUIRE(stat(report.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}
