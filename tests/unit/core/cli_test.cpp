// End to end: the real binary, as an operator or a CI job runs it.
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fstream>
#include <sstream>

using namespace backup_doctor;
using backup_doctor::test::run_bd;
using nlohmann::json;

namespace {

const std::string kFixtures = BD_FIXTURE_PLUGIN_DIR;
const std::string kBad = BD_FIXTURE_BAD_DIR;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

support::ProcessResult run_list(const test::TempDir& dir, const json& checks,
                                std::vector<std::string> extra = {},
                                std::map<std::string, std::string> env = {}) {
  auto file = dir.write("checklist.json", test::checklist_json(checks));
  std::vector<std::string> args{"--plugin-dir", kFixtures, "run", file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_bd(args, std::move(env));
}

}  // namespace

TEST_CASE("every command has --help") {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"run", "--help"},
                                        {"validate", "--help"},
                                        {"plugins", "--help"},
                                        {"describe", "--help"}}) {
    auto r = run_bd(args);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
  auto bad = run_bd({"frobnicate"});
  CHECK(bad.exit_code == 3);
}

TEST_CASE("plugins lists loaded plugins with their ABI and file, and refusals with reasons") {
  auto r = run_bd({"--plugin-dir", kFixtures, "--plugin-dir", kBad, "plugins"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("fixture 1.2.3  (ABI 1.0)  " + kFixtures + "/backup-doctor-fixture.so") !=
        std::string::npos);
  CHECK(r.out.find("abi_v1 1.0.0  (ABI 1.0)") != std::string::npos);
  CHECK(r.out.find("refused " + kBad + "/bad-wrong_major.so: built for plugin ABI 2.0") !=
        std::string::npos);
  CHECK(r.out.find("refused " + kBad +
                   "/bad-create_fails.so: create() failed: cannot reach the licence server") !=
        std::string::npos);
}

TEST_CASE("plugins are found through BACKUP_DOCTOR_PLUGIN_PATH and next to the binary") {
  auto r = run_bd({"plugins"}, {{"BACKUP_DOCTOR_PLUGIN_PATH", kFixtures}});
  CHECK(r.out.find("fixture 1.2.3") != std::string::npos);
  auto plain = run_bd({"plugins", "--format", "json"});
  auto j = json::parse(plain.out);
  bool has_build_dir = false;
  for (const auto& d : j["search_path"])
    has_build_dir |=
        d.get<std::string>() == std::string(BD_TEST_BINARY_DIR) + "/" + BD_PLUGIN_REL_DIR;
  CHECK(has_build_dir);
}

TEST_CASE("describe shows a check type - an unknown one gets a suggestion") {
  auto r = run_bd({"--plugin-dir", kFixtures, "describe", "fixture.status"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("status (one of") != std::string::npos);
  auto typo = run_bd({"--plugin-dir", kFixtures, "describe", "fixture.stauts"});
  CHECK(typo.exit_code == 3);
  CHECK(typo.err.find("did you mean 'fixture.status'?") != std::string::npos);
  auto md = run_bd({"--plugin-dir", kFixtures, "describe", "--all", "--format", "markdown"});
  CHECK(md.out.find("### `abi_v1.hello`") != std::string::npos);
}

TEST_CASE("describe with a plugin's name shows every check type of that plugin") {
  auto r = run_bd({"--plugin-dir", kFixtures, "describe", "fixture"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("fixture.status") != std::string::npos);
  CHECK(r.out.find("fixture.echo") != std::string::npos);
  CHECK(r.out.find("abi_v1.hello") == std::string::npos);  // another plugin's
  auto j = run_bd({"--plugin-dir", kFixtures, "describe", "fixture", "--format", "json"});
  CHECK(j.exit_code == 0);
  CHECK(j.out.find("\"fixture.echo\"") != std::string::npos);
  auto typo = run_bd({"--plugin-dir", kFixtures, "describe", "fixtrue"});
  CHECK(typo.exit_code == 3);
  CHECK(typo.err.find("no check type or plugin named 'fixtrue'") != std::string::npos);
  CHECK(typo.err.find("did you mean 'fixture'?") != std::string::npos);
}

TEST_CASE("validate names the file, check id and parameter of a typo, and exits 2") {
  test::TempDir dir;
  auto file = dir.write(
      "list.json", test::checklist_json(
                       {{{"id", "echo-it"}, {"use", "fixture.echo"}, {"with", {{"pth", "/x"}}}}}));
  auto r = run_bd({"--plugin-dir", kFixtures, "validate", file.string()});
  CHECK(r.exit_code == 2);
  // FILE:LINE:COL of the offending key's value, then the check, the field and the suggestion.
  CHECK(r.err.rfind(file.string() + ":7:16: check", 0) == 0);
  CHECK(r.err.find(": check 'echo-it': with.pth: unknown key 'pth' (did you mean 'path'?)") !=
        std::string::npos);
  auto good = dir.write("good.json", test::checklist_json({{{"id", "a"}, {"use", "fixture.ok"}}}));
  auto ok = run_bd({"--plugin-dir", kFixtures, "validate", good.string()});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("valid (1 checks selected)") != std::string::npos);
}

TEST_CASE("run refuses an invalid checklist before running anything") {
  test::TempDir dir;
  auto file = dir.write("broken.json",
                        "{\"version\": 1,\n \"checks\": [\n  {\"id\": \"a\" \"use\": \"x.y\"}]}");
  auto r = run_bd({"--plugin-dir", kFixtures, "run", file.string()});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(file.string() + ":3:") == 0);
  CHECK(r.err.find("nothing was run") != std::string::npos);
  CHECK(r.out.empty());
  CHECK(r.err.find("terminate") == std::string::npos);
}

TEST_CASE("exit codes: 0 ok, 1 warn, 2 fail, 3 error - --fail-on raises the bar") {
  test::TempDir dir;
  auto with = [&](const std::string& status, std::vector<std::string> extra = {}) {
    return run_list(dir, {{{"id", "x"}, {"use", "fixture.status"}, {"with", {{"status", status}}}}},
                    extra)
        .exit_code;
  };
  CHECK(with("ok") == 0);
  CHECK(with("warn") == 1);
  CHECK(with("fail") == 2);
  CHECK(with("error") == 3);
  CHECK(with("skipped") == 0);
  CHECK(with("warn", {"--fail-on", "fail"}) == 0);
  CHECK(with("fail", {"--fail-on", "fail"}) == 2);
  CHECK(with("fail", {"--fail-on", "error"}) == 0);
}

TEST_CASE("the Nagios state printed is the state run exits with, --fail-on included") {
  test::TempDir dir;
  json warn_check = {{{"id", "x"}, {"use", "fixture.status"}, {"with", {{"status", "warn"}}}}};
  auto by_default = run_list(dir, warn_check, {"--format", "nagios"});
  CHECK(by_default.exit_code == 1);
  CHECK(by_default.out.rfind("BACKUP-DOCTOR WARNING - ", 0) == 0);
  auto on_fail = run_list(dir, warn_check, {"--format", "nagios", "--fail-on", "fail"});
  CHECK(on_fail.exit_code == 0);
  CHECK(on_fail.out.rfind("BACKUP-DOCTOR OK - ", 0) == 0);
  CHECK(on_fail.out.find("\n[WARNING] x: ") != std::string::npos);
}

TEST_CASE(
    "crashing, hanging and throwing checks finish within the longest timeout + 1s, with exit code "
    "3") {
  test::TempDir dir;
  json checks = {{{"id", "crash"}, {"use", "fixture.crash"}},
                 {{"id", "abort"}, {"use", "fixture.abort"}},
                 {{"id", "hang"}, {"use", "fixture.hang"}, {"timeout", "2s"}},
                 {{"id", "throw"}, {"use", "fixture.throw"}},
                 {{"id", "fine"}, {"use", "fixture.ok"}}};
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_list(dir, checks, {"--format", "json"});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed < std::chrono::seconds(3));
  CHECK(r.exit_code == 3);
  auto j = json::parse(r.out);
  std::map<std::string, json> by_id;
  for (const auto& x : j["results"]) by_id[x["id"]] = x;
  CHECK(by_id["crash"]["status"] == "error");
  CHECK(by_id["crash"]["summary"].get<std::string>().find("signal 11 (Segmentation fault)") !=
        std::string::npos);
  CHECK(by_id["hang"]["summary"].get<std::string>().find("timeout of 2s") != std::string::npos);
  CHECK(by_id["throw"]["summary"].get<std::string>().find("fixture exploded") != std::string::npos);
  CHECK(by_id["fine"]["status"] == "ok");
}

TEST_CASE("the v1-header plugin runs") {
  test::TempDir dir;
  auto r = run_list(dir, {{{"id", "v1"}, {"use", "abi_v1.hello"}}}, {"--format", "json"});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["results"][0]["summary"] == "hello from a 1.0 plugin");
}

TEST_CASE("several formats at once - every format is well-formed") {
  test::TempDir dir;
  auto r = run_list(
      dir,
      {{{"id", "a"}, {"use", "fixture.ok"}},
       {{"id", "b"}, {"use", "fixture.status"}, {"with", {{"status", "fail"}}}}},
      {"--report", "json=" + (dir / "r.json").string(), "--report",
       "junit=" + (dir / "r.xml").string(), "--report", "prometheus=" + (dir / "r.prom").string(),
       "--report", "nagios=" + (dir / "r.txt").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("FAIL  b") != std::string::npos);
  CHECK(json::parse(read(dir / "r.json"))["status"] == "fail");
  CHECK(read(dir / "r.xml").find("<failure") != std::string::npos);
  CHECK(read(dir / "r.prom").find("backup_doctor_fixture_value_bytes{") != std::string::npos);
  CHECK(read(dir / "r.txt").rfind("BACKUP-DOCTOR CRITICAL", 0) == 0);
  auto bad = run_list(dir, {{{"id", "a"}, {"use", "fixture.ok"}}}, {"--report", "xml=out"});
  CHECK(bad.exit_code == 3);
}

TEST_CASE("secrets never appear in any output, log or report") {
  test::TempDir dir;
  const std::string secret = "Tr0ub4dor&3-cli";
  json checks = {
      {{"id", "leaky"},
       {"use", "fixture.echo"},
       {"with", {{"password", {{"secret", {{"env", "BD_CLI_TEST_PW"}}}}}, {"path", "/x"}}}}};
  auto r = run_list(
      dir, checks,
      {"--format", "json", "-v", "--report", "text=" + (dir / "r.txt").string(), "--report",
       "junit=" + (dir / "r.xml").string(), "--report", "prometheus=" + (dir / "r.prom").string()},
      {{"BD_CLI_TEST_PW", secret}});
  auto r2 = run_bd(
      {"--log-level", "debug", "--plugin-dir", kFixtures, "run", (dir / "checklist.json").string()},
      {{"BD_CLI_TEST_PW", secret}});
  CHECK(r.exit_code == 2);
  std::string everything = r.out + r.err + r2.out + r2.err + read(dir / "r.txt") +
                           read(dir / "r.xml") + read(dir / "r.prom");
  CHECK(everything.find("[REDACTED]") != std::string::npos);  // the fixture really tried to leak it
  CHECK(everything.find(secret) == std::string::npos);
  // And a missing secret stops only the check that uses it: an error result naming the field
  // and the variable, with what to do.
  auto missing = run_bd({"--plugin-dir", kFixtures, "run", (dir / "checklist.json").string()});
  CHECK(missing.exit_code == 3);
  CHECK(missing.out.find("ERROR leaky  not run: with.password: secret environment variable "
                         "BD_CLI_TEST_PW is not set; export it before the run\n"
                         "               -> Export BD_CLI_TEST_PW in the environment") !=
        std::string::npos);
}

#ifdef BD_HAVE_PG_PLUGIN
namespace {

// A loopback port nothing listens on: the kernel picks a free one, and it is closed again.
int closed_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The report's shape: group headers as they are, and each result's line up to its id (its
// place in the tree, status and id); remediation, the title and the total left out.
std::vector<std::string> outline(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(text)) {
    size_t tag = line.find_first_not_of(" \\_");
    if (tag == std::string::npos || line.rfind("backup-doctor:", 0) == 0 ||
        line.compare(tag, 2, "->") == 0 || line.find(" checks: ") != std::string::npos)
      continue;
    if (tag == 0 && line.back() != ' ' && line.find(": ") != std::string::npos &&
        line.find("  ") == std::string::npos) {
      out.push_back(line);  // a group's header: "NAME: STATUS"
      continue;
    }
    size_t id = tag + 6;  // the status is padded to 5, then a space
    out.push_back(line.substr(0, line.find(' ', id)));
  }
  return out;
}

}  // namespace

TEST_CASE("the report reads as a diagnosis: by group, each consequence under its cause") {
  test::TempDir dir;
  json server = {{"host", "127.0.0.1"},
                 {"port", std::to_string(closed_loopback_port())},
                 {"dbname", "trixtech"},
                 {"user", "backup_user"},
                 {"connect_timeout", "5s"}};
  json role_params = server;
  role_params["warn_before"] = "14d";
  std::string dumps = (dir.path() / "dumps").string();  // never created
  json checks = {
      {{"id", "dumps"},
       {"use", "files.exists"},
       {"group", "database"},
       {"with", {{"path", dumps}, {"type", "dir"}}}},
      {{"id", "fresh"},
       {"use", "files.freshness"},
       {"group", "database"},
       {"after", {"dumps"}},
       {"with", {{"path", dumps}, {"pattern", "*.sql.gz"}, {"max_age", "25h"}}}},
      {{"id", "connect"}, {"use", "pg.connect"}, {"tags", {"database"}}, {"with", server}},
      // No needs: pg.role reports a refused login itself. The server being down is connect's.
      {{"id", "role"}, {"use", "pg.role"}, {"tags", {"database"}}, {"with", role_params}},
      {{"id", "home"},
       {"use", "files.exists"},
       {"group", "host"},
       {"with", {{"path", dir.path().string()}, {"type", "dir"}}}}};
  auto file = dir.write("checklist.json", test::checklist_json(checks));

  auto grouped = run_bd({"run", file.string(), "--report", "json=" + (dir / "r.json").string()});
  CHECK(grouped.exit_code == 3);
  CHECK(outline(grouped.out) == std::vector<std::string>{"database: FAIL", "  FAIL  dumps",
                                                         "  \\_ FAIL  fresh", "  FAIL  connect",
                                                         "  \\_ ERROR role", "host: OK",
                                                         "  OK    home"});
  // One fix, said once.
  CHECK(grouped.out.find("-> the same as for connect above\n") != std::string::npos);

  auto report = json::parse(read(dir / "r.json"));
  std::map<std::string, json> by_id;
  for (const auto& r : report["results"]) by_id[r["id"]] = r;
  CHECK(by_id["role"]["status"] == "error");
  CHECK(by_id["role"]["caused_by"] == "connect");
  CHECK(by_id["role"]["group"] == "database");  // its first tag
  CHECK(by_id["fresh"]["caused_by"] == "dumps");
  CHECK(by_id["fresh"]["after"] == json{"dumps"});
  CHECK(by_id["connect"]["caused_by"].is_null());
  CHECK(by_id["home"]["group"] == "host");
  CHECK(by_id["home"]["after"] == json::array());
  // The JSON report keeps checklist order.
  CHECK(report["results"][0]["id"] == "dumps");
  CHECK(report["results"][4]["id"] == "home");

  auto flat = run_bd({"run", file.string(), "--group", "none"});
  CHECK(flat.exit_code == 3);
  CHECK(outline(flat.out) == std::vector<std::string>{"FAIL  dumps", "FAIL  fresh", "FAIL  connect",
                                                      "ERROR role", "OK    home"});
  auto bad = run_bd({"run", file.string(), "--group", "tags"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--group") != std::string::npos);
}
#endif

TEST_CASE("Ctrl-C ends running checks and still writes the report of what finished") {
  test::TempDir dir;
  auto file = dir.write("checklist.json",
                        test::checklist_json({{{"id", "quick"}, {"use", "fixture.ok"}},
                                              {{"id", "stuck"}, {"use", "fixture.hang"}}}));
  auto t0 = std::chrono::steady_clock::now();
  auto r = support::run_process({"timeout", "--preserve-status", "-s", "INT", "1", BD_TEST_BIN,
                                 "--plugin-dir", kFixtures, "run", file.string(), "--format",
                                 "json", "--report", "junit=" + (dir / "junit.xml").string()});
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(r.exit_code == 3);
  auto j = json::parse(r.out);
  CHECK(j["interrupted"] == true);
  CHECK(j["results"][0]["status"] == "ok");
  CHECK(j["results"][1]["summary"].get<std::string>().find("interrupted") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "junit.xml"));
}

TEST_CASE("NO_COLOR is honoured and --color always forces colour") {
  test::TempDir dir;
  json checks = {{{"id", "a"}, {"use", "fixture.status"}, {"with", {{"status", "fail"}}}}};
  CHECK(run_list(dir, checks).out.find("\033[") == std::string::npos);
  CHECK(run_list(dir, checks, {"--color", "always"}).out.find("\033[31m") != std::string::npos);
}

TEST_CASE("a run longer than a second shows progress on a terminal's stderr, and nowhere else") {
  test::TempDir dir;
  auto file = dir.write("checklist.json",
                        test::checklist_json({{{"id", "slow-one"},
                                               {"use", "fixture.status"},
                                               {"with", {{"status", "ok"}, {"sleep_ms", 1600}}}}}));
  std::string cmd = std::string(BD_TEST_BIN) + " --plugin-dir " + kFixtures + " run " +
                    file.string() + " --format json";
  // script(1) gives the command a pseudo-terminal, as an operator's shell would.
  auto tty = support::run_process({"script", "-qefc", cmd, "/dev/null"});
  CHECK(tty.out.find("[0/1] running: slow-one") != std::string::npos);
  auto piped = run_bd({"--plugin-dir", kFixtures, "run", file.string(), "--format", "json"});
  CHECK(piped.err.find("running:") == std::string::npos);
  CHECK(json::parse(piped.out)["results"][0]["status"] == "ok");
}

TEST_CASE("an unknown command says so, with the nearest one") {
  auto r = run_bd({"--log-level", "debug", "valdate", "x.json"});
  CHECK(r.exit_code == 3);
  CHECK(r.err ==
        "backup-doctor: unknown command 'valdate' (did you mean 'validate'?); the commands are "
        "run, validate, plugins, describe, serve, init, version (see --help)\n");
}

TEST_CASE("a --plugin-dir that does not exist is an error, not an empty search") {
  auto r = run_bd({"--plugin-dir", "/nonexistent/plugins", "plugins"});
  CHECK(r.exit_code == 3);
  CHECK(r.err ==
        "backup-doctor: --plugin-dir /nonexistent/plugins: no such directory; give a directory "
        "that holds plugin files (backup-doctor-NAME.so)\n");
}

TEST_CASE("run - reads the checklist from stdin") {
  auto o = support::ProcessOptions{};
  o.env = {{"NO_COLOR", "1"}};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) o.env.emplace(name, value);
  o.stdin_data = test::checklist_json({{{"id", "from-stdin"}, {"use", "fixture.ok"}}});
  auto r = support::run_process({test::target_binary(), "--plugin-dir", kFixtures, "run", "-"}, o);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("OK    from-stdin") != std::string::npos);
  o.stdin_data = "{\"version\": 1, \"checks\": [}";
  auto bad =
      support::run_process({test::target_binary(), "--plugin-dir", kFixtures, "run", "-"}, o);
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.rfind("<stdin>:1:27: invalid JSON", 0) == 0);
}

TEST_CASE("several --plugin-dir paths before the command are still paths") {
  auto r = run_bd({"--plugin-dir", kFixtures, std::string(kFixtures) + "/..", "version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("backup-doctor ", 0) == 0);
}

TEST_CASE(
    "a check that could not run for a missing secret counts as an error whatever its severity") {
  test::TempDir dir;
  json checks = {
      {{"id", "db"},
       {"use", "fixture.echo"},
       {"severity", "info"},
       {"with", {{"password", {{"secret", {{"env", "BD_CLI_UNSET_PW"}}}}}, {"path", "/x"}}}},
      {{"id", "dump"}, {"use", "fixture.ok"}, {"needs", {"db"}}}};
  auto r = run_list(dir, checks, {"--fail-on", "fail"});
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("overall ERROR") != std::string::npos);
}

TEST_CASE("run and validate without a checklist read $BACKUP_DOCTOR_CHECKLIST") {
  test::TempDir dir;
  auto ok = dir.write("ok.json", test::checklist_json({{{"id", "x"}, {"use", "fixture.ok"}}}));
  auto failing = dir.write(
      "fail.json", test::checklist_json(
                       {{{"id", "y"}, {"use", "fixture.status"}, {"with", {{"status", "fail"}}}}}));
  std::map<std::string, std::string> env{{"BACKUP_DOCTOR_CHECKLIST", ok.string()}};
  auto v = run_bd({"--plugin-dir", kFixtures, "validate"}, env);
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind(ok.string() + ": valid (", 0) == 0);
  auto r = run_bd({"--plugin-dir", kFixtures, "run"}, env);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("OK    x") != std::string::npos);
  // A checklist named on the command line wins.
  CHECK(run_bd({"--plugin-dir", kFixtures, "run", failing.string()}, env).exit_code == 2);
}

TEST_CASE("without a checklist, and none at the default place, run and validate say what to do") {
  test::TempDir dir;
  auto missing = (dir.path() / "checklist.json").string();
  std::string says = "backup-doctor: no checklist named and " + missing +
                     " does not exist; write one with 'backup-doctor init -o " + missing +
                     "', or name a checklist file\n";
  for (const char* command : {"run", "validate"}) {
    auto r = run_bd({command}, {{"BACKUP_DOCTOR_CHECKLIST", missing}});
    CHECK(r.exit_code == 3);
    CHECK(r.err == says);
  }
  // Only an absolute path: not one relative to wherever the command starts, nor "-" (stdin).
  for (const char* value : {"checklist.json", "-"}) {
    auto r = run_bd({"validate"}, {{"BACKUP_DOCTOR_CHECKLIST", value}});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("BACKUP_DOCTOR_CHECKLIST=" + std::string(value) +
                     " is not an absolute path") != std::string::npos);
  }
  // The compiled-in default, where this machine has none.
  if (!std::filesystem::exists(BD_DEFAULT_CHECKLIST)) {
    auto r = run_bd({"validate"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("no checklist named and " BD_DEFAULT_CHECKLIST
                     " does not exist; write one with 'backup-doctor init -o " BD_DEFAULT_CHECKLIST
                     "'") != std::string::npos);
  } else {
    MESSAGE("not checked: this machine has " BD_DEFAULT_CHECKLIST);
  }
}
