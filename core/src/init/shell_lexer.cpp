#include "init/shell_lexer.hpp"

#include <cctype>

namespace backup_doctor::init {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}
bool is_operator_start(char c) {
  return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')';
}
bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Longest first, so that ">>" wins over ">".
constexpr std::string_view kOperators[] = {"&>>", "<<<", "<<-", "&&", "||", ";;", "|&",
                                           ">>",  ">|",  ">&",  "<&", "<>", "&>", "<<",
                                           "|",   "&",   ";",   "<",  ">",  "(",  ")"};

}  // namespace

ShellLexer::ShellLexer(std::string_view text, int first_line, std::vector<SyntaxNote>& notes)
    : text_(text), line_(first_line), notes_(notes) {}

char ShellLexer::peek(size_t ahead) const {
  return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
}

void ShellLexer::note(const std::string& message) {
  notes_.push_back({line_, message});
}

void ShellLexer::skip_blanks_and_comments() {
  for (;;) {
    while (!at_end() && is_blank(peek())) ++pos_;
    if (peek() == '\\' && peek(1) == '\n') {  // a continued line
      pos_ += 2;
      ++line_;
      continue;
    }
    if (peek() == '#') {
      while (!at_end() && peek() != '\n') ++pos_;
    }
    return;
  }
}

Token ShellLexer::next() {
  skip_blanks_and_comments();
  Token t;
  t.line = line_;
  if (at_end()) return t;
  if (peek() == '\n') {
    ++pos_;
    ++line_;
    t.type = Token::Type::newline;
    read_here_documents();
    return t;
  }
  if (is_operator_start(peek())) return read_operator(-1);
  t = read_word();
  // A word of digits directly before < or > is the descriptor of a redirection (2>&1).
  const std::string digits = t.word.literal();
  if (t.word.is_literal() && !digits.empty() && digits.size() < 3 &&
      digits.find_first_not_of("0123456789") == std::string::npos && t.word.raw == digits &&
      (peek() == '<' || peek() == '>')) {
    return read_operator(std::stoi(digits));
  }
  if (expect_here_delimiter_) {
    here_docs_.push_back({t.word.literal().empty() ? t.word.raw : t.word.literal(), strip_tabs_});
    expect_here_delimiter_ = false;
  }
  return t;
}

Token ShellLexer::read_operator(int io_number) {
  Token t;
  t.type = Token::Type::op;
  t.line = line_;
  t.io_number = io_number;
  for (std::string_view op : kOperators) {
    if (text_.substr(pos_, op.size()) == op) {
      t.op = std::string(op);
      pos_ += op.size();
      break;
    }
  }
  if (t.op == "<<" || t.op == "<<-") {
    expect_here_delimiter_ = true;
    strip_tabs_ = t.op == "<<-";
  }
  return t;
}

// Skips the bodies of the here-documents started on the line that just ended.
void ShellLexer::read_here_documents() {
  while (!here_docs_.empty()) {
    const PendingHereDoc doc = here_docs_.front();
    here_docs_.pop_front();
    for (;;) {
      if (at_end()) {
        note("here-document ending with '" + doc.delimiter + "' is not terminated");
        return;
      }
      size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos_, end - pos_);
      if (doc.strip_tabs) {
        while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
      }
      pos_ = end < text_.size() ? end + 1 : end;
      ++line_;
      if (line == doc.delimiter) break;
    }
  }
}

void ShellLexer::add_literal(Word& w, char c, bool quoted) {
  if (w.parts.empty() || w.parts.back().kind != WordPart::Kind::literal ||
      w.parts.back().quoted != quoted) {
    w.parts.push_back({WordPart::Kind::literal, "", quoted, "", ""});
  }
  w.parts.back().text += c;
}

Token ShellLexer::read_word() {
  Token t;
  t.type = Token::Type::word;
  t.line = line_;
  const size_t start = pos_;
  Word& w = t.word;
  while (!at_end()) {
    const char c = peek();
    if (is_blank(c) || c == '\n' || is_operator_start(c)) break;
    if (c == '\'') {
      read_single_quoted(w);
    } else if (c == '"') {
      read_double_quoted(w);
    } else if (c == '\\') {
      if (peek(1) == '\n') {
        pos_ += 2;
        ++line_;
      } else {
        add_literal(w, peek(1), true);
        pos_ += 2;
      }
    } else if (c == '$') {
      read_dollar(w, false);
    } else if (c == '`') {
      read_backticks(w, false);
    } else {
      add_literal(w, c, false);
      ++pos_;
    }
  }
  w.raw = std::string(text_.substr(start, pos_ - start));
  // "" made an empty part so that the word exists; beside other parts it is noise.
  if (w.parts.size() > 1)
    std::erase_if(w.parts, [](const WordPart& p) {
      return p.kind == WordPart::Kind::literal && p.text.empty();
    });
  return t;
}

void ShellLexer::read_single_quoted(Word& w) {
  ++pos_;
  // An empty '' still makes a (quoted, empty) part: the word exists.
  w.parts.push_back({WordPart::Kind::literal, "", true, "", ""});
  while (!at_end() && peek() != '\'') {
    if (peek() == '\n') ++line_;
    w.parts.back().text += peek();
    ++pos_;
  }
  if (at_end()) note("a quote (') is not closed");
  ++pos_;
}

void ShellLexer::read_double_quoted(Word& w) {
  ++pos_;
  w.parts.push_back({WordPart::Kind::literal, "", true, "", ""});
  while (!at_end() && peek() != '"') {
    const char c = peek();
    if (c == '\\' && std::string_view("$`\"\\\n").find(peek(1)) != std::string_view::npos) {
      if (peek(1) == '\n') {
        ++line_;
      } else {
        add_literal(w, peek(1), true);
      }
      pos_ += 2;
    } else if (c == '$') {
      read_dollar(w, true);
    } else if (c == '`') {
      read_backticks(w, true);
    } else {
      if (c == '\n') ++line_;
      add_literal(w, c, true);
      ++pos_;
    }
  }
  if (at_end()) note("a quote (\") is not closed");
  ++pos_;
}

// The text up to the `close` that balances the `open` at pos_, quotes and escapes skipped over.
std::string ShellLexer::read_balanced(char open, char close) {
  int depth = 0;
  const size_t start = pos_;
  char quote = 0;
  while (!at_end()) {
    const char c = peek();
    if (c == '\n') ++line_;
    if (quote) {
      if (c == '\\' && quote == '"')
        ++pos_;
      else if (c == quote)
        quote = 0;
    } else if (c == '\\') {
      ++pos_;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == open) {
      ++depth;
    } else if (c == close && --depth == 0) {
      ++pos_;
      return std::string(text_.substr(start + 1, pos_ - start - 2));
    }
    ++pos_;
  }
  note(std::string("a '") + open + "' is not closed");
  return std::string(text_.substr(start + 1));
}

void ShellLexer::read_dollar(Word& w, bool quoted) {
  const char c = peek(1);
  if (c == '(' && peek(2) == '(') {
    ++pos_;
    std::string inner = read_balanced('(', ')');
    w.parts.push_back({WordPart::Kind::arithmetic, inner, quoted, "", ""});
  } else if (c == '(') {
    ++pos_;
    w.parts.push_back({WordPart::Kind::command, read_balanced('(', ')'), quoted, "", ""});
  } else if (c == '{') {
    read_braced_parameter(w, quoted);
  } else if (is_name_start(c)) {
    ++pos_;
    std::string name;
    while (is_name_char(peek())) name += text_[pos_++];
    w.parts.push_back({WordPart::Kind::parameter, name, quoted, "", ""});
  } else if (c != '\0' && std::string_view("0123456789@*#?$!-").find(c) != std::string_view::npos) {
    pos_ += 2;
    w.parts.push_back({WordPart::Kind::parameter, std::string(1, c), quoted, "", ""});
  } else if (c == '\'' && !quoted) {  // $'...' (ANSI-C quoting): taken as written
    ++pos_;
    read_single_quoted(w);
  } else {
    add_literal(w, '$', quoted);
    ++pos_;
  }
}

void ShellLexer::read_braced_parameter(Word& w, bool quoted) {
  ++pos_;  // at '{'
  std::string body = read_balanced('{', '}');
  WordPart part{WordPart::Kind::parameter, "", quoted, "", ""};
  size_t i = 0;
  if (!body.empty() && body[0] == '#' && body.size() > 1) {
    part.op = "length";
    i = 1;
  }
  while (i < body.size() &&
         (is_name_char(body[i]) ||
          (i == 0 && std::string_view("@*#?$!-").find(body[i]) != std::string_view::npos)))
    part.text += body[i++];
  static constexpr std::string_view kOps[] = {":-", ":=", ":+", ":?", "##", "%%", "-",
                                              "=",  "+",  "?",  "#",  "%",  "/",  ":"};
  if (i < body.size() && part.op.empty()) {
    for (std::string_view op : kOps) {
      if (body.compare(i, op.size(), op) == 0) {
        part.op = std::string(op);
        part.arg = body.substr(i + op.size());
        break;
      }
    }
    if (part.op.empty()) note("${" + body + "} is not a parameter expansion init understands");
  }
  w.parts.push_back(part);
}

void ShellLexer::read_backticks(Word& w, bool quoted) {
  ++pos_;
  std::string inner;
  while (!at_end() && peek() != '`') {
    if (peek() == '\\' && (peek(1) == '`' || peek(1) == '\\' || peek(1) == '$')) ++pos_;
    if (peek() == '\n') ++line_;
    inner += text_[pos_++];
  }
  if (at_end()) note("a backtick (`) is not closed");
  ++pos_;
  w.parts.push_back({WordPart::Kind::command, inner, quoted, "", ""});
}

}  // namespace backup_doctor::init
