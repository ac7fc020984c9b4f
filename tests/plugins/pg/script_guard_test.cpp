// ScriptGuard, and the lexer under it, against the real psql 15: whatever psql would run as a
// meta-command from a script, the lexer finds, and nothing the guard hands on makes psql run one.
#include "script_guard.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace backup_doctor::pg;
using namespace backup_doctor::test::pg;

namespace {

template <size_t N>
std::string raw(const char (&s)[N]) {
  return std::string(s, N - 1);
}

struct Fed {
  std::string out;
  bool stopped = false;
  ScriptGuard::StopKind kind = ScriptGuard::StopKind::none;
  std::string what;
};

// Feeds `script` in pieces of `step` bytes, as the restore does.
Fed feed(const std::string& script, ScriptGuard::Mode mode, size_t step = 4096) {
  ScriptGuard g(mode);
  Fed f;
  bool going = true;
  for (size_t at = 0; going && at < script.size(); at += step)
    going = g.take(std::string_view(script).substr(at, step), f.out);
  if (going) going = g.finish(f.out);
  f.stopped = !going;
  f.kind = g.stop_kind();
  if (g.stop()) f.what = g.stop()->what;
  return f;
}

const std::string kProbe = "PROBE-RAN-7731";

// Did psql's \echo print the probe (on a line of its own, not inside a notice or an error)?
bool echoed(const std::string& output) {
  return output.starts_with(kProbe + "\n") ||
         output.find("\n" + kProbe + "\n") != std::string::npos;
}

// Runs psql 15 (as the postgres account would, over the socket) on `script`.
std::string psql(const std::string& script, const std::string& db, bool on_error_stop) {
  PgServer& s = main_server();
  backup_doctor::support::ProcessOptions o;
  o.stdin_data = script;
  o.timeout = std::chrono::seconds(30);
  o.env = {{"PGHOST", s.socket_dir()},
           {"PGPORT", std::to_string(s.port())},
           {"PGUSER", "postgres"},
           {"PGDATABASE", db}};
  auto r = backup_doctor::support::run_process(
      {kPgBinDir + "/psql", "-X", "-q", "-v", on_error_stop ? "ON_ERROR_STOP=1" : "ON_ERROR_STOP=0",
       "-f", "-"},
      o);
  return r.out + r.err;
}

// Scripts that hide `\echo PROBE` from a naive reading; for most of them psql 15 runs it.
std::vector<std::string> tricky_scripts() {
  const std::string e = "\\echo " + kProbe;
  return {
      "SELECT 1;\n" + e + "\n",
      "SELECT $E'\\' ' " + e + " ';\n",
      "SELECT 1$a$ x $a$ " + e + "\n$a$;\n",
      "SELECT $1$a$ x $a$ " + e + "\n$a$;\n",
      "SELECT 1; -- c\r" + e + "\n",
      raw("SELECT 1;\0'\n") + e + "\n';\n",
      "SET standard_conforming_strings = off;\nSELECT 'a\\' " + e + "\n';\n",
      "SELECT E'a'\n'\\' " + e + " ';\n",
      "CREATE TEMP TABLE stdin (x int);\nCOPY (SELECT x FROM stdin) TO STDOUT;\n" + e + "\n\\.\n",
      "SET client_encoding = 'SJIS';\nSELECT E'\x95\\' " + e + " ';\n",
      "SET client_encoding = 'SJIS';\nSELECT '\x95' " + e + " ';\n",
      "/* /* */ " + e + " */ SELECT 1;\n",
      "SELECT 'it''s' " + e + "\n;\n",
      "COPY t FROM stdin; SELECT 1\n" + e + "\n\\.\n",
      "SELECT (1;\n" + e + "\n);\n",
      "DO $$ BEGIN RAISE NOTICE '" + e + "'; END $$;\nSELECT :LAST_ERROR_MESSAGE;\n",
  };
}

}  // namespace

TEST_CASE("whatever psql 15 runs as a meta-command, the lexer finds first") {
  int ran = 0;
  for (const auto& script : tricky_scripts()) {
    CAPTURE(script);
    bool psql_ran_it = echoed(psql(script, "postgres", false));
    ran += psql_ran_it;
    PsqlLexer lexer;
    bool found = lexer.scan(script) < script.size() || !lexer.finish();
    if (psql_ran_it) CHECK(found);
  }
  CHECK(ran >= 10);  // the scripts do what they are meant to
}

TEST_CASE("nothing the guard hands on makes psql run a meta-command or COPY data") {
  PgServer& s = main_server();
  s.exec("DROP DATABASE IF EXISTS guard_probe");
  s.exec("CREATE DATABASE guard_probe");
  auto scripts = tricky_scripts();
  const std::string e = "\\echo " + kProbe;
  // psql reads the data of a COPY that fails as statements.
  scripts.push_back("COPY nosuch FROM stdin;\n" + e +
                    "\nCREATE TABLE copy_data_ran (x int);\n\\.\n");
  scripts.push_back("\\restrict abc\nSELECT 1;\n\\unrestrict abc\n" + e + "\n");
  for (const auto& script : scripts) {
    CAPTURE(script);
    for (auto mode : {ScriptGuard::Mode::restricted, ScriptGuard::Mode::strict}) {
      Fed f = feed(script, mode, 3);
      std::string out = psql(f.out, "guard_probe", mode == ScriptGuard::Mode::strict);
      CHECK_FALSE(echoed(out));
    }
  }
  CHECK(s.query("SELECT count(*) FROM pg_class WHERE relname = 'copy_data_ran'", "guard_probe") ==
        "0");
  s.exec("DROP DATABASE guard_probe WITH (FORCE)");
}

TEST_CASE("the guard's own psql lines: a random \\restrict key first, ON_ERROR_STOP around COPY") {
  const std::string dump =
      "\\restrict Dumps0wnKey\nSET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\nSELECT 2;\n"
      "\\unrestrict Dumps0wnKey\n";
  Fed f = feed(dump, ScriptGuard::Mode::restricted, 5);
  CHECK_FALSE(f.stopped);
  REQUIRE(f.out.starts_with("\\restrict "));
  CHECK(f.out.find("Dumps0wnKey") == std::string::npos);  // the dump's own lines are dropped
  size_t on = f.out.find("\\set ON_ERROR_STOP on\n");
  size_t copy = f.out.find("COPY t (a) FROM stdin;\n");
  size_t off = f.out.find("\\set ON_ERROR_STOP off\n");
  CHECK(on < copy);
  CHECK(copy < off);
  CHECK(off > f.out.find("\\.\n"));
  CHECK(f.out.ends_with("SELECT 2;\n"));
  // Each \restrict has a key of its own, and the next \unrestrict names it.
  std::string first_key = f.out.substr(10, f.out.find('\n') - 10);
  CHECK(first_key.size() == 32);
  CHECK(f.out.find("\\unrestrict " + first_key + "\n") != std::string::npos);
  CHECK(feed(dump, ScriptGuard::Mode::restricted).out.find(first_key) == std::string::npos);
  // Without \restrict in psql: nothing of ours but the dump's SQL and data.
  Fed strict = feed(dump, ScriptGuard::Mode::strict);
  CHECK(strict.out == "SET x = 1;\nCOPY t (a) FROM stdin;\n1\n\\.\nSELECT 2;\n");
}

TEST_CASE("the guard stops before what psql must not read, with nothing unfinished handed on") {
  // psql runs a last statement that lacks its ';' at the end of its input: the start of the
  // statement the meta-command sits in must not have reached it.
  Fed f = feed("SELECT 1;\nDROP TABLE keep \\! id\n;\n", ScriptGuard::Mode::restricted, 1);
  CHECK(f.stopped);
  CHECK(f.kind == ScriptGuard::StopKind::meta_command);
  CHECK(f.what.find("\\! (runs a shell command)") == 0);
  CHECK(f.out.find("SELECT 1;\n") != std::string::npos);
  CHECK(f.out.find("DROP") == std::string::npos);
  Fed db = feed("SELECT 1;\ncreate\ndatabase x;\nSELECT 2;\n", ScriptGuard::Mode::restricted);
  CHECK(db.kind == ScriptGuard::StopKind::cluster_statement);
  CHECK(db.out.find("create") == std::string::npos);
  CHECK(db.out.find("SELECT 2") == std::string::npos);
  Fed eof = feed("SELECT 1;\nALTER ROLE me PASSWORD 'x'", ScriptGuard::Mode::strict);
  CHECK(eof.kind == ScriptGuard::StopKind::cluster_statement);
  CHECK(eof.out == "SELECT 1;\n");
  // pg_dump's \connect is only looked at, never fed.
  CHECK(feed("\\connect trixtech\nSELECT 1;\n", ScriptGuard::Mode::scan).stopped == false);
  CHECK(feed("\\connect trixtech\nSELECT 1;\n", ScriptGuard::Mode::restricted).kind ==
        ScriptGuard::StopKind::meta_command);
  CHECK(feed("\\connect x \\! id\n", ScriptGuard::Mode::scan).kind ==
        ScriptGuard::StopKind::meta_command);
}
