// What psql would run from a plain SQL dump besides SQL: its backslash (meta-)commands.
//
// psql reads a script with its own lexer. A backslash outside a string literal, a quoted
// identifier, a dollar quote or a comment starts a meta-command (\! runs a shell command, \c
// connects to another database, \o and \copy write files, \set changes variables), and a psql
// variable substituted as it is (:NAME) is lexed again, so it can hold one too. Only the data
// of COPY ... FROM stdin is not lexed. A restore of an untrusted dump must never run a
// meta-command: this lexer follows psql's rules and stops at the first byte where psql could
// see one, so a dump can be refused before anything runs, and a stream fed to psql can be cut
// before that byte ever reaches it.
//
// It is conservative where psql's reading depends on state it cannot know: text after a
// `COPY ... FROM stdin;` on the same line is refused, and so are bytes that psql versions or
// client encodings read differently (a NUL byte, a byte above 0x7f outside quotes and comments,
// a '$' right after a number, a backslash right after such a byte in an E'' string). With
// `strict_strings` so is a backslash in a plain string literal (its meaning depends on
// standard_conforming_strings, which the dump itself can change).
//
// Statements that act on the cluster rather than the database being restored into (CREATE,
// ALTER or DROP of a DATABASE, ROLE, USER, GROUP or TABLESPACE) are noted, not refused: pg_dump
// writes CREATE DATABASE with --create, and pg_dumpall writes all of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::pg {

struct ScriptFinding {
  uint64_t line = 0;  // 1-based
  std::string what;   // "\\! (runs a shell command)", ":LAST_ERROR_MESSAGE (...)", ...
};

class PsqlLexer {
 public:
  explicit PsqlLexer(bool strict_strings = false) : strict_strings_(strict_strings) {}

  // Lexes the next bytes of the script. Returns how many of them are safe to hand to psql:
  // all of them, or the offset where something psql would run as a meta-command starts (then
  // finding() says what, and every later call returns 0).
  size_t scan(std::string_view bytes);
  // The end of the script. psql still runs a last statement that lacks its ';', so that one is
  // judged too; false when the end is unsafe (finding() says why).
  bool finish();

  const std::optional<ScriptFinding>& finding() const { return finding_; }
  // The first statement that acts on the cluster (e.g. "DROP DATABASE"), with its line.
  const std::optional<ScriptFinding>& cluster_statement() const { return cluster_statement_; }
  uint64_t line() const { return line_; }
  // At the start of a line, outside any statement, quote, comment or COPY data: where pg_dump
  // writes its own \restrict, \unrestrict and \connect lines.
  bool at_top_level_line_start() const;
  // Skips one such line (given whole, without its newline) without lexing it.
  void skip_line() { ++line_; }
  // Between the lines of COPY ... FROM stdin data.
  bool in_copy_data() const { return state_ == State::copy_data; }
  // What was read since the last statement ended is part of a statement that has not ended
  // yet (or of a quote or block comment): psql has not run it yet.
  bool mid_statement() const;

  // Is `line` pg_dump's own "\restrict KEY" or "\unrestrict KEY" line?
  static bool is_restrict_line(std::string_view line);
  // Is `line` a "\connect DBNAME" line as pg_dump and pg_dumpall write them?
  static bool is_connect_line(std::string_view line);

 private:
  enum class State {
    normal,
    line_comment,
    block_comment,
    string,
    escape_string,
    after_escape_string,  // E'...' ended: a quote after a line break would continue it
    after_escape_comment,
    quoted_ident,
    dollar_quote,
    copy_data
  };

  bool unsafe(uint64_t line, std::string what);
  void end_statement();
  void note_word(std::string_view word);
  void judge_statement();
  // One byte in one state; false when it is unsafe. `again`: look at it once more (new state).
  bool step(unsigned char c, std::string_view bytes, size_t i, bool& again);
  bool step_normal(unsigned char c, std::string_view bytes, size_t i, bool& again);
  bool step_pending(unsigned char c, bool& again);
  bool step_string(unsigned char c, bool& again);
  void step_after_escape(unsigned char c, bool& again);
  void step_copy_data(unsigned char c);
  void end_of_byte(unsigned char c);

  bool strict_strings_;
  State state_ = State::normal;
  uint64_t line_ = 1;
  bool line_start_ = true;
  int comment_depth_ = 0;
  std::string dollar_tag_;  // "$tag$" of the open dollar quote
  std::string pending_;     // bytes held back across calls (a token split between chunks)
  // The words of the current statement, for recognising COPY ... FROM stdin.
  std::string first_word_;
  std::string last_word_, word_;
  bool saw_from_stdin_ = false;
  bool statement_started_ = false;
  // As psql: a ';' ends the statement only outside parentheses and outside the BEGIN ... END
  // of a CREATE [OR REPLACE] FUNCTION/PROCEDURE body.
  int paren_depth_ = 0, begin_depth_ = 0;
  int identifier_count_ = 0;
  char identifiers_[4] = {};
  bool copy_after_line_ = false;  // the statement that just ended was COPY ... FROM stdin
  // The first three words of the statement and the line it started on.
  std::string head_[3];
  int head_count_ = 0;
  uint64_t statement_line_ = 1;
  bool newline_after_escape_ = false;  // a line break since the last E'' string ended
  bool high_byte_before_ = false;      // the previous byte in an E'' string was above 0x7f
  std::optional<ScriptFinding> finding_, cluster_statement_;
};

}  // namespace backup_doctor::pg
