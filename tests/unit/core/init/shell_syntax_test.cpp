#include "init/shell_syntax.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::init;

namespace {
std::vector<std::string> raw_words(const SimpleCommand& c) {
  std::vector<std::string> out;
  for (const auto& w : c.words) out.push_back(w.raw);
  return out;
}
}  // namespace

TEST_CASE("commands, quoting, assignments and redirections") {
  ShellScript s = parse_shell(
      "#!/bin/sh\n"
      "DIR=/opt/backups  # where\n"
      "FILE=\"$DIR/db_$(date +%F).sql.gz\"\n"
      "PGPASSWORD=\"$DB_PASSWORD\" pg_dump -h 'db 1' \"$DB\" | gzip > \"$FILE\" "
      "2>>/var/log/x.log\n");
  REQUIRE(s.commands.size() == 4);
  CHECK(s.notes.empty());
  CHECK(s.commands[0].assignments[0].name == "DIR");
  CHECK(s.commands[0].assignments[0].value.literal() == "/opt/backups");
  CHECK(s.commands[0].line == 2);
  const Word& file = s.commands[1].assignments[0].value;
  REQUIRE(file.parts.size() == 4);
  CHECK(file.parts[0].kind == WordPart::Kind::parameter);
  CHECK(file.parts[2].kind == WordPart::Kind::command);
  CHECK(file.parts[2].text == "date +%F");
  const SimpleCommand& dump = s.commands[2];
  CHECK(dump.assignments[0].name == "PGPASSWORD");
  CHECK(raw_words(dump) == std::vector<std::string>{"pg_dump", "-h", "'db 1'", "\"$DB\""});
  CHECK(dump.words[2].literal() == "db 1");
  const SimpleCommand& gzip = s.commands[3];
  CHECK(gzip.pipeline == dump.pipeline);
  CHECK(gzip.position == 1);
  REQUIRE(gzip.redirects.size() == 2);
  CHECK(gzip.redirects[0].op == ">");
  CHECK(gzip.redirects[1].fd == 2);
  CHECK(gzip.redirects[1].op == ">>");
  CHECK(gzip.redirects[1].target.literal() == "/var/log/x.log");
}

TEST_CASE("&&, ||, ; and newlines separate pipelines; a continued command keeps its first line") {
  ShellScript s = parse_shell(
      "tar -czf a.tmp /x && mv a.tmp a.tgz || echo failed; sync\nrsync -a \\\n  /src /dst\nls");
  REQUIRE(s.commands.size() == 6);
  CHECK(s.commands[0].pipeline != s.commands[1].pipeline);
  CHECK(s.commands[3].words[0].literal() == "sync");
  CHECK(s.commands[4].line == 2);
  CHECK(s.commands[4].words.size() == 4);
  CHECK(s.commands[5].line == 4);
}

TEST_CASE("control structures are walked through, their bodies kept") {
  ShellScript s = parse_shell(
      "if [ -d \"$D\" ]; then\n  tar -cf x.tar \"$D\"\nelse\n  echo no\nfi\n"
      "for db in a b c; do\n  pg_dump \"$db\" > \"$db.sql\"\ndone\n"
      "case \"$1\" in\n  full) rsync -a /a /b ;;\n  *) exit 1 ;;\nesac\n"
      "backup() {\n  gzip x\n}\nwhile read l; do echo \"$l\"; done < list\n");
  std::vector<std::string> programs;
  for (const auto& c : s.commands) {
    if (!c.words.empty()) programs.push_back(c.words[0].literal());
  }
  CHECK(programs == std::vector<std::string>{"[", "tar", "echo", "pg_dump", "rsync", "exit", "gzip",
                                             "read", "echo"});
  for (const auto& c : s.commands) {
    if (!c.words.empty() && c.words[0].literal() == "pg_dump") CHECK(c.loop_variable == "db");
  }
}

TEST_CASE("here-documents are skipped, parameter operators kept, NAME+= and $'..' read") {
  ShellScript s = parse_shell(
      "cat <<EOF > /tmp/x\nnot a command\nEOF\n: ${BACKUP_DIR:=/srv/b}\nA+=x\necho $'a\\tb'\n");
  REQUIRE(s.commands.size() == 4);
  CHECK(s.commands[0].redirects.size() == 2);
  const WordPart& p = s.commands[1].words[1].parts[0];
  CHECK(p.text == "BACKUP_DIR");
  CHECK(p.op == ":=");
  CHECK(p.arg == "/srv/b");
  CHECK(s.commands[2].assignments[0].append);
  CHECK(s.commands[3].words[1].literal() == "a\\tb");
}

TEST_CASE("what cannot be parsed ends with a note, never a throw") {
  CHECK(parse_shell("echo 'unterminated").notes.size() == 1);
  CHECK(parse_shell("x=$(date").notes.size() == 1);
  CHECK(parse_shell("cat <<END\nbody").notes.size() == 1);
  CHECK(parse_shell("for ((i=0; i<3; i++)); do echo; done").notes.size() == 1);
  CHECK_NOTHROW(parse_shell(std::string("\0\"`$((", 6)));
}

TEST_CASE("split_assignment: only NAME=... with a valid name") {
  auto word = [](const std::string& t) { return parse_shell("x " + t).commands[0].words[1]; };
  auto a = split_assignment(word("DEST=\"/a b\""));
  REQUIRE(a);
  CHECK(a->name == "DEST");
  CHECK(a->value.literal() == "/a b");
  CHECK_FALSE(split_assignment(word("1X=2")));
  CHECK_FALSE(split_assignment(word("'A=b'")));
  CHECK_FALSE(split_assignment(word("--opt=3")));
}
