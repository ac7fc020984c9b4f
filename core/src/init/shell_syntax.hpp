// Shell scripts as `init` reads them: the simple commands of a POSIX sh / bash script, with
// their words (quoting kept apart from what is literal), assignments, redirections and pipes.
// Enough of the grammar to follow a backup script (if/while/for/case, functions, subshells,
// here-documents, $(...) and backticks), not to run one: what it cannot follow it notes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::init {

struct WordPart {
  enum class Kind {
    literal,     // text as written, quotes removed
    parameter,   // $X, ${X}, ${X:-default}: `text` is the name, `op`/`arg` the operator
    command,     // $(...) or `...`: `text` is the command inside
    arithmetic,  // $((...))
  };
  Kind kind = Kind::literal;
  std::string text;
  bool quoted = false;  // inside '' or "" (so glob characters in it are literal)
  std::string op;       // ":-", "-", ":=", "=", ":+", "+", "#", "##", "%", "%%", or ""
  std::string arg;      // the operator's word, unexpanded
};

struct Word {
  std::vector<WordPart> parts;
  std::string raw;  // as written in the script
  // The word's text when it is one literal (no expansion in it), else "".
  std::string literal() const;
  bool is_literal() const;
};

struct Redirect {
  int fd = -1;     // the descriptor written as a prefix (2>), -1 when none
  std::string op;  // ">", ">>", ">|", "<", "<>", ">&", "<&", "&>", "&>>", "<<", "<<-", "<<<"
  Word target;     // the file, descriptor or here-document delimiter
};

struct Assignment {
  std::string name;
  Word value;
  bool append = false;  // NAME+=value
};

struct SimpleCommand {
  int line = 0;
  std::vector<Assignment> assignments;  // NAME=value before the command (or alone)
  std::vector<Word> words;              // the command and its arguments
  std::vector<Redirect> redirects;
  size_t pipeline = 0;        // commands with the same number are joined by |
  size_t position = 0;        // place in that pipeline, from 0
  std::string loop_variable;  // for NAME in ...: set by the loop around this command
};

struct SyntaxNote {
  int line = 0;
  std::string message;  // what was not followed, in words for the operator
};

struct ShellScript {
  std::vector<SimpleCommand> commands;
  std::vector<SyntaxNote> notes;
};

// `NAME=value` or `NAME+=value` written as one word (as after `export` or `local`), else nothing.
std::optional<Assignment> split_assignment(const Word& word);

// Parses `text`; line numbers start at `first_line`. Never throws on bad input: an unterminated
// quote or substitution ends the script with a note.
ShellScript parse_shell(std::string_view text, int first_line = 1);

}  // namespace backup_doctor::init
