// The lexer that finds what psql would run as a meta-command in a plain SQL dump.
#include "psql_lexer.hpp"

#include <doctest/doctest.h>

#include <string>

using backup_doctor::pg::PsqlLexer;

namespace {

struct Outcome {
  size_t safe = 0;  // bytes that may be handed to psql
  bool clean = true;
  uint64_t line = 0;
  std::string what;
};

// Feeds `script` in pieces of `step` bytes (1: byte by byte, to cross every token boundary).
Outcome lex(const std::string& script, size_t step = 0, bool strict = false) {
  PsqlLexer lexer(strict);
  Outcome o;
  if (step == 0) step = script.size() ? script.size() : 1;
  for (size_t at = 0; at < script.size(); at += step) {
    std::string_view piece = std::string_view(script).substr(at, step);
    size_t ok = lexer.scan(piece);
    o.safe += ok;
    if (ok < piece.size()) break;
  }
  if (lexer.finding()) {
    o.clean = false;
    o.line = lexer.finding()->line;
    o.what = lexer.finding()->what;
  }
  return o;
}

// A literal with its NUL bytes.
template <size_t N>
std::string raw(const char (&s)[N]) {
  return std::string(s, N - 1);
}

void check_both_ways(const std::string& script, bool clean) {
  for (size_t step : {size_t(0), size_t(1), size_t(7)}) {
    CAPTURE(step);
    CHECK(lex(script, step).clean == clean);
  }
}

}  // namespace

TEST_CASE("what pg_dump writes is clean, backslashes in data and quotes included") {
  const std::string dump =
      "--\n-- PostgreSQL database dump\n--\n"
      "SET standard_conforming_strings = on;\n"
      "SELECT pg_catalog.set_config('search_path', '', false);\n"
      "CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$\n"
      "BEGIN RETURN E'a\\\\b' || '\\no' || $x$ \\! not here $x$; END $_$;\n"
      "/* a comment with \\! in it /* nested */ still comment */\n"
      "COMMENT ON TABLE public.t IS 'it''s \\ fine';\n"
      "CREATE TABLE \"we\\ird\" (a text DEFAULT E'\\'' , b int[]);\n"
      "SELECT '1'::text, x::INTEGER, arr[1:2] FROM t;\n"
      "COPY public.users (id, name) FROM stdin;\n"
      "1\t\\N\n"
      "2\tback\\\\slash \\! not a command in data\n"
      "\\.\n"
      "SELECT 1; -- \\! in a comment\n"
      "-- PostgreSQL database dump complete\n";
  check_both_ways(dump, true);
  CHECK(lex(dump).safe == dump.size());
}

TEST_CASE("a meta-command outside quotes is found, and nothing from it on is safe") {
  const std::string before = "CREATE TABLE t (a int);\nSELECT 1; ";
  const std::string script = before + "\\! id > /tmp/owned\nSELECT 2;\n";
  auto o = lex(script);
  CHECK_FALSE(o.clean);
  CHECK(o.line == 2);
  CHECK(o.what.find("\\! (runs a shell command)") == 0);
  CHECK(o.safe == before.size());
  for (size_t step : {size_t(1), size_t(3)}) CHECK(lex(script, step).safe == before.size());

  CHECK(lex("\\c otherdb\n").what.find("connects to another database") != std::string::npos);
  CHECK(lex("\\connect postgres\n").what.find("connects to another database") != std::string::npos);
  CHECK_FALSE(lex("SELECT 1 \\g /tmp/out\n").clean);
  CHECK_FALSE(lex("\\o /root/.ssh/authorized_keys\n").clean);
}

TEST_CASE("COPY data ends at \\. and only there") {
  check_both_ways("COPY t FROM stdin;\n\\! data\n\\.\n", true);
  check_both_ways("COPY t FROM stdin;\n1\n\\.\n\\! id\n", false);
  // copy data that merely starts with "\." is still data
  check_both_ways("copy t from STDIN with (format csv);\n\\.x\n\\.\n", true);
  // Not a COPY FROM stdin: its "data" is SQL to psql.
  check_both_ways("COPY t TO stdout;\n\\! id\n", false);
}

TEST_CASE("tricks that make psql read COPY data as commands are refused") {
  // Text after COPY on its line runs after the data, or instead of it if COPY fails.
  auto after = lex("COPY nosuch FROM stdin; SELECT 1\n\\! id\n\\.\n");
  CHECK_FALSE(after.clean);
  CHECK(after.what.find("text after COPY") == 0);
  // A COPY inside parentheses is no statement of its own to psql: what follows is lexed.
  check_both_ways("SELECT (1; COPY t FROM STDIN; 2);\n\\! id\n\\.\n", false);
  // Nor inside the BEGIN ATOMIC ... END body of a function.
  check_both_ways(
      "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC SELECT 1;\n"
      "COPY t FROM STDIN;\nEND;\n\\! id\n\\.\n",
      false);
  check_both_ways(
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 "
      "END; END;\nSELECT 1;\n",
      true);
}

TEST_CASE("psql variables substituted as text are refused, quoted ones and casts are not") {
  auto v = lex("DO $$ BEGIN RAISE EXCEPTION '\\! id'; END $$;\nSELECT :LAST_ERROR_MESSAGE;\n");
  CHECK_FALSE(v.clean);
  CHECK(v.line == 2);
  check_both_ways("SELECT :'DBNAME', :\"USER\", now()::TIMESTAMP, a := 1;\n", true);
}

TEST_CASE("pg_dump's own \\restrict lines are recognised at the top level only") {
  CHECK(PsqlLexer::is_restrict_line("\\restrict Abc123"));
  CHECK(PsqlLexer::is_restrict_line("\\unrestrict Abc123\r"));
  CHECK_FALSE(PsqlLexer::is_restrict_line("\\restrict"));
  CHECK_FALSE(PsqlLexer::is_restrict_line("\\restrict a; \\! id"));
  PsqlLexer lexer;
  CHECK(lexer.at_top_level_line_start());
  lexer.scan("SELECT 1\n");
  CHECK_FALSE(lexer.at_top_level_line_start());  // inside a statement
  lexer.scan(";\n");
  CHECK(lexer.at_top_level_line_start());
}

TEST_CASE("strict mode refuses a backslash in a plain string literal") {
  // With standard_conforming_strings off, psql reads 'a\' b' as one literal and then \! runs.
  const std::string tricky = "SET standard_conforming_strings = off;\nSELECT 'a\\'b' \\! id ';\n";
  CHECK(lex(tricky, 0, false).clean);
  auto strict = lex(tricky, 0, true);
  CHECK_FALSE(strict.clean);
  CHECK(strict.line == 2);
  CHECK(lex("SELECT E'a\\'b';\n", 0, true).clean);  // escape strings are unambiguous
}

TEST_CASE("tokens psql splits differently from a naive reading are followed or refused") {
  // "$E'": psql takes the '$' alone, then an escape string; read as a plain string instead,
  // the \! would seem to be inside a literal.
  check_both_ways("SELECT $E'\\' ' \\! id ';\n", false);
  // After a number, "$a$" opens a dollar quote for psql 15 (but not for every version).
  CHECK(lex("SELECT 1$a$ x $a$ \\! id\n$a$;\n").what.find("a '$' right after a number") == 0);
  check_both_ways("SELECT $1$a$ x $a$ \\! id\n$a$;\n", false);
  check_both_ways("SELECT x$a$ FROM t; SELECT $1, $a$ \\! $a$;\n", true);
  // psql's line comments end at a carriage return.
  check_both_ways("SELECT 1; -- c\r\\! id\n", false);
  // psql drops a NUL byte and the rest of its input line with it.
  auto nul = lex(raw("SELECT 1;\0'\n\\! id\n';\n"));
  CHECK_FALSE(nul.clean);
  CHECK(nul.what.find("a NUL byte") == 0);
  CHECK(nul.line == 1);
  CHECK_FALSE(lex(raw("COPY t FROM stdin;\na\0b\n\\.\n")).clean);
  // Only FROM STDIN of COPY itself makes psql send data: this is a query on a table "stdin".
  check_both_ways("COPY (SELECT 1 FROM stdin) TO STDOUT;\n\\! id\n\\.\n", false);
}

TEST_CASE("what client encodings or psql versions read differently is refused") {
  // In SJIS, 0x95 0x5c is one character: psql sees no backslash there.
  CHECK_FALSE(lex("SELECT E'\x95\\' \\! id ';\n").clean);
  CHECK_FALSE(lex("SELECT E'\\\x95\\' \\! id ';\n").clean);
  CHECK(lex("SELECT E'\\x95 ok', 'caf\xc3\xa9\\', \"t\xc3\xa9\" FROM t; -- \xc3\xa9\n").clean);
  // Outside quotes pg_dump writes ASCII only (it quotes every other identifier).
  CHECK(lex("SELECT caf\xc3\xa9 FROM t;\n").what.find("a byte above 0x7f") == 0);
  // An E'' string continued over a line break: psql 15 starts a new plain string, the server
  // continues the escape string.
  CHECK_FALSE(lex("SELECT E'a'\n'\\' \\! id ';\n").clean);
  CHECK_FALSE(lex("SELECT E'a' -- c\n '\\' ';\n").clean);
  CHECK(lex("SELECT E'a' 'b', E'c'::text\n, E'd'\n-1;\n").clean);
}

TEST_CASE("statements that act on the cluster are noted, in any case and spacing") {
  auto note = [](const std::string& script) {
    PsqlLexer lexer;
    lexer.scan(script);
    lexer.finish();
    return lexer.cluster_statement() ? lexer.cluster_statement()->what : std::string();
  };
  CHECK(note("SELECT 1;\ncreate database other;\n") == "CREATE DATABASE");
  CHECK(note("DROP\n/* x */ DataBase victim;") == "DROP DATABASE");
  CHECK(note("SELECT 1;\nALTER ROLE restorer PASSWORD 'x'") == "ALTER ROLE");  // no ';' at EOF
  CHECK(note("CREATE USER MAPPING FOR public SERVER s;\nALTER USER MAPPING FOR x SERVER s;") == "");
  CHECK(note("CREATE TABLE database (role int);\nCOMMENT ON DATABASE x IS 'y';\n") == "");
  CHECK(note("SELECT 'DROP DATABASE x';\nCREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; "
             "END;\n") == "");
  PsqlLexer lexer;
  lexer.scan("SELECT 1; DROP TABLESPACE t; DROP DATABASE d;\n");
  REQUIRE(lexer.cluster_statement());
  CHECK(lexer.cluster_statement()->what == "DROP TABLESPACE");  // the first one
  CHECK(lexer.cluster_statement()->line == 1);
}

TEST_CASE("statement and COPY boundaries, for a feeder that holds back unfinished statements") {
  PsqlLexer lexer;
  lexer.scan("SELECT 1,\n");
  CHECK(lexer.mid_statement());
  lexer.scan("2;\n");
  CHECK_FALSE(lexer.mid_statement());
  lexer.scan("/* open\n");
  CHECK(lexer.mid_statement());
  lexer.scan("*/ COPY t FROM stdin;\n");
  CHECK(lexer.in_copy_data());
  CHECK_FALSE(lexer.mid_statement());
  lexer.scan("1\tx\n\\.\n");
  CHECK_FALSE(lexer.in_copy_data());
  CHECK(lexer.at_top_level_line_start());
}

TEST_CASE("pg_dump's \\connect lines are told from anything else after \\connect") {
  CHECK(PsqlLexer::is_connect_line("\\connect trixtech"));
  CHECK(PsqlLexer::is_connect_line("\\connect \"MyDb\""));
  CHECK(PsqlLexer::is_connect_line("\\connect -reuse-previous=on \"dbname='my db'\"\r"));
  CHECK(PsqlLexer::is_connect_line("\\connect -reuse-previous=on \"dbname='a\"\"b'\""));
  CHECK_FALSE(PsqlLexer::is_connect_line("\\connect x \\! id"));
  CHECK_FALSE(PsqlLexer::is_connect_line("\\connect \"x\" \\! id"));
  CHECK(PsqlLexer::is_connect_line("\\connect \"x\"\" \\! id \""));  // one quoted name
  CHECK_FALSE(PsqlLexer::is_connect_line("\\connect \"x\" \"y\""));
  CHECK_FALSE(PsqlLexer::is_connect_line("\\c x"));
  CHECK_FALSE(PsqlLexer::is_connect_line("\\connect"));
}
