// pg.dump_compat: can the local pg_dump dump this server, and pg_restore read what it writes?
#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/safe_open.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"
#include "versions.hpp"

#include <filesystem>
#include <future>

namespace backup_doctor::pg {

namespace {

struct Tool {
  std::string name, path, resolved, version_text;
  std::optional<int> version;
  std::string problem;   // why it could not be used
  bool refused = false;  // not run: someone other than root can change it
  bool wrapper = false;

  nlohmann::json json() const {
    nlohmann::json j = {{"name", name}, {"path", path}, {"resolved_path", resolved}};
    if (!version_text.empty()) j["version_output"] = version_text;
    if (version) j["major"] = major_name(*version);
    if (wrapper) j["debian_pg_wrapper"] = true;
    if (!problem.empty()) j["problem"] = problem;
    if (refused) j["refused_untrusted"] = true;
    return j;
  }
};

Tool probe(const std::string& program, sdk::Context& r) {
  Tool t;
  t.name = program;
  t.path = support::find_program(program);
  if (t.path.empty()) {
    t.problem = "not found" + std::string(program.find('/') == std::string::npos ? " on PATH" : "");
    return t;
  }
  std::error_code ec;
  t.resolved = std::filesystem::canonical(t.path, ec).string();
  // Debian's /usr/bin/pg_dump is postgresql-common's pg_wrapper, which picks a version itself.
  t.wrapper = t.resolved.ends_with("pg_wrapper");
  support::ProcessOptions o;
  o.timeout = std::chrono::seconds(15);
  o.cancelled = [](void* arg) { return sdk::context_cancelled(arg); };
  o.cancelled_arg = &r;
  auto res = support::run_process({t.path, "--version"}, o);
  if (res.refused_untrusted) {
    t.refused = true;
    t.problem = t.path + " was not run: " + res.start_error.substr(res.start_error.find(':') + 2);
    return t;
  }
  t.version_text = res.out;
  while (!t.version_text.empty() && t.version_text.back() == '\n') t.version_text.pop_back();
  if (!res.ok()) {
    t.problem = "`" + t.path + " --version` failed: " + res.describe() + " " + res.err;
    return t;
  }
  t.version = parse_version_text(t.version_text);
  if (!t.version) t.problem = "could not read a version from '" + t.version_text + "'";
  return t;
}

// Every PostgreSQL client installed the Debian way, newest first.
std::vector<std::pair<int, std::string>> installed_pg_dumps() {
  std::vector<std::pair<int, std::string>> out;
  support::SafeOpened base =
      support::open_untrusted("/usr/lib/postgresql", support::Expect::directory);
  std::vector<support::DirEntry> entries;
  if (!base || support::list_directory(base.fd.get(), entries) != 0) return out;
  for (const auto& e : entries) {
    if (!S_ISDIR(e.st.st_mode)) continue;
    std::string p = "/usr/lib/postgresql/" + e.name + "/bin/pg_dump";
    if (support::find_program(p).empty()) continue;
    auto v = parse_version_text(e.name + ".0");
    if (v) out.emplace_back(*v, p);
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  // The two probes and the connection at once: on Debian each probe goes through the
  // pg_wrapper Perl script, which is slower than the rest of the check.
  auto dump_probe = std::async(std::launch::async, [&] {
    return probe(params.value("pg_dump", std::string("pg_dump")), r);
  });
  auto restore_probe = std::async(std::launch::async, [&] {
    return probe(params.value("pg_restore", std::string("pg_restore")), r);
  });
  auto conn = connect_or_report(cp, r);
  Tool dump = dump_probe.get();
  Tool restore = restore_probe.get();
  if (!conn) return;
  int server = conn->server_version_num();
  std::string server_major = major_name(server);

  nlohmann::json installed = nlohmann::json::array();
  std::string suitable;
  for (const auto& [v, path] : installed_pg_dumps()) {
    installed.push_back({{"major", major_name(v)}, {"path", path}});
    if (major_key(v) >= major_key(server) && suitable.empty()) suitable = path;
  }
  nlohmann::json details = {{"server_version", conn->server_version()},
                            {"server_major", server_major},
                            {"pg_dump", dump.json()},
                            {"pg_restore", restore.json()},
                            {"installed_pg_dump", installed}};
  std::string client_pkg = "postgresql-client-" + server_major;
  std::string use_suitable =
      suitable.empty() ? "Install " + client_pkg +
                             " (Debian/Ubuntu, from apt.postgresql.org when the distribution "
                             "lacks it) and call its pg_dump by full path"
                       : "A suitable one is installed: " + suitable + "; call it by full path";

  for (auto [t, label] : {std::pair{&dump, "pg_dump"}, std::pair{&restore, "pg_restore"}}) {
    if (!t->refused) continue;
    r.fail(std::string(label) + " " + t->path + " can be changed by someone other than root",
           t->problem +
               ". The backup job runs it too, with the database's credentials. Make it "
               "root's alone (`chown root:root " +
               t->path + " && chmod go-w " + t->path +
               "`, and the same for the directories above it), or use a client root installed" +
               (suitable.empty() ? std::string(".") : " (" + suitable + ")."),
           details);
    return;
  }
  if (!dump.problem.empty()) {
    r.fail("pg_dump is unusable: " + dump.problem,
           use_suitable + ", or fix the `pg_dump` parameter.", details);
    return;
  }
  if (!restore.problem.empty()) {
    r.fail("pg_restore is unusable: " + restore.problem,
           "Install " + client_pkg + " (it ships pg_restore), or fix the `pg_restore` parameter.",
           details);
    return;
  }
  std::string dump_major = major_name(*dump.version), restore_major = major_name(*restore.version);
  std::string versions = "pg_dump " + dump_major + " (" + dump.path + "), pg_restore " +
                         restore_major + ", server " + server_major;
  if (major_key(*dump.version) < major_key(server)) {
    r.fail("pg_dump " + dump_major + " is older than the server (" + server_major +
               "): it refuses to dump it",
           "pg_dump aborts with 'server version mismatch' against a newer server. " + use_suitable +
               (dump.wrapper
                    ? " (the Debian wrapper at " + dump.path + " picked version " + dump_major + ")"
                    : "") +
               ".",
           details);
    return;
  }
  if (major_key(*dump.version) >= 1500 && major_key(server) < 902) {
    r.fail("pg_dump " + dump_major + " cannot dump a server as old as " + server_major,
           "pg_dump 15 and later support servers from 9.2 on; use the pg_dump of an older "
           "release (14 or earlier) for this server, and plan its upgrade.",
           details);
    return;
  }
  if (major_key(*restore.version) < major_key(*dump.version)) {
    r.warn("pg_restore " + restore_major + " is older than pg_dump " + dump_major +
               ": it may not read the archives pg_dump writes",
           "Archives carry the format version of the pg_dump that wrote them, and an older "
           "pg_restore stops with 'unsupported version in file header'. Install "
           "postgresql-client-" +
               dump_major + " where restores run and use its pg_restore.",
           details);
    return;
  }
  r.ok(versions + ": compatible" + (dump.wrapper ? " (pg_dump via the Debian pg_wrapper)" : ""),
       details);
}

}  // namespace

sdk::CheckType dump_compat_check() {
  using namespace schema;
  json props = connection_properties();
  props["pg_dump"] = string_prop(
      "The pg_dump the backup runs: a name looked up on PATH or an absolute path. Default "
      "\"pg_dump\".",
      "pg_dump");
  props["pg_restore"] = string_prop(
      "The pg_restore restores use: a name on PATH or an absolute path. Default \"pg_restore\".",
      "pg_restore");
  return {.type = "pg.dump_compat",
          .summary = "Local pg_dump/pg_restore major versions versus the server's",
          .doc =
              "pg_dump cannot dump a server newer than itself, and pg_restore may not read an "
              "archive written by a newer pg_dump. Runs both with --version, reports which binary "
              "PATH resolves to (and when it is Debian's pg_wrapper), compares the majors with the "
              "server's and, when they do not fit, names an installed client that does. As root, a "
              "tool that anyone but root can change is not run (that would run their code as "
              "root): the check fails, naming who can change it.",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
