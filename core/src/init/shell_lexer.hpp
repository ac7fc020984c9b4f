// The tokens of a shell script: words (with their quoted and expanded parts), operators,
// newlines. Here-document bodies are consumed at the newline after their operator.
#pragma once

#include "init/shell_syntax.hpp"

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::init {

struct Token {
  enum class Type { word, op, newline, end };
  Type type = Type::end;
  Word word;           // for words
  std::string op;      // for operators: "&&", "|", ";", ">>", "(", ...
  int io_number = -1;  // for a redirection operator written with a descriptor (2>)
  int line = 0;
};

class ShellLexer {
 public:
  ShellLexer(std::string_view text, int first_line, std::vector<SyntaxNote>& notes);
  Token next();

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const;
  void skip_blanks_and_comments();
  Token read_operator(int io_number);
  Token read_word();
  void read_single_quoted(Word& w);
  void read_double_quoted(Word& w);
  void read_dollar(Word& w, bool quoted);
  void read_backticks(Word& w, bool quoted);
  std::string read_balanced(char open, char close);
  void read_braced_parameter(Word& w, bool quoted);
  void read_here_documents();
  void add_literal(Word& w, char c, bool quoted);
  void note(const std::string& message);

  std::string_view text_;
  size_t pos_ = 0;
  int line_;
  std::vector<SyntaxNote>& notes_;
  struct PendingHereDoc {
    std::string delimiter;
    bool strip_tabs = false;
  };
  std::deque<PendingHereDoc> here_docs_;
  bool expect_here_delimiter_ = false;
  bool strip_tabs_ = false;
};

}  // namespace backup_doctor::init
