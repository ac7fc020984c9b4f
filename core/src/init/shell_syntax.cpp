// Commands out of tokens: control structures are walked through (every branch read as if it
// could run), so the commands inside if/while/for/case bodies, functions and subshells are
// all found, each with its line.
#include "init/shell_syntax.hpp"

#include "init/shell_lexer.hpp"

#include <cctype>

namespace backup_doctor::init {

std::string Word::literal() const {
  std::string out;
  for (const auto& p : parts) {
    if (p.kind != WordPart::Kind::literal) return "";
    out += p.text;
  }
  return out;
}

bool Word::is_literal() const {
  for (const auto& p : parts) {
    if (p.kind != WordPart::Kind::literal) return false;
  }
  return true;
}

std::optional<Assignment> split_assignment(const Word& word) {
  if (word.parts.empty() || word.parts[0].kind != WordPart::Kind::literal || word.parts[0].quoted)
    return std::nullopt;
  const std::string& first = word.parts[0].text;
  const size_t eq = first.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  Assignment a;
  a.append = first[eq - 1] == '+';
  a.name = first.substr(0, a.append ? eq - 1 : eq);
  if (a.name.empty() || std::isdigit(static_cast<unsigned char>(a.name[0]))) return std::nullopt;
  for (char c : a.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
  }
  if (eq + 1 < first.size())
    a.value.parts.push_back({WordPart::Kind::literal, first.substr(eq + 1), false, "", ""});
  a.value.parts.insert(a.value.parts.end(), word.parts.begin() + 1, word.parts.end());
  a.value.raw = word.raw.substr(std::min(word.raw.size(), word.raw.find('=') + 1));
  return a;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, int first_line, ShellScript& out)
      : lexer_(text, first_line, out.notes), out_(out) {}

  void run() {
    for (Token t = lexer_.next(); t.type != Token::Type::end; t = lexer_.next()) {
      if (t.type == Token::Type::newline) {
        end_pipeline();
      } else if (t.type == Token::Type::op) {
        on_operator(t);
      } else {
        on_word(std::move(t));
      }
    }
    end_pipeline();
  }

 private:
  bool command_empty() const { return cmd_.words.empty() && cmd_.assignments.empty(); }

  void finish_command() {
    if (!command_empty() || !cmd_.redirects.empty()) {
      cmd_.pipeline = pipeline_;
      cmd_.position = position_;
      for (auto it = loops_.rbegin(); it != loops_.rend(); ++it) {
        if (!it->empty()) {
          cmd_.loop_variable = *it;
          break;
        }
      }
      out_.commands.push_back(std::move(cmd_));
    }
    cmd_ = SimpleCommand{};
  }

  void end_pipeline() {
    finish_command();
    ++pipeline_;
    position_ = 0;
  }

  void on_operator(const Token& t) {
    if (t.op == "|" || t.op == "|&") {
      finish_command();
      ++position_;
    } else if (t.op == "(") {
      // `name()` defines a function: its body's commands are read where they stand.
      if (cmd_.words.size() == 1 && cmd_.assignments.empty())
        cmd_ = SimpleCommand{};
      else
        end_pipeline();
    } else if (t.op == ")") {
      end_pipeline();
    } else if (t.op == ";;") {
      end_pipeline();
      expect_case_pattern_ = !cases_.empty();
    } else if (t.op == "&&" || t.op == "||" || t.op == ";" || t.op == "&") {
      end_pipeline();
    } else {
      on_redirect(t);
    }
  }

  void on_redirect(const Token& t) {
    Token target = lexer_.next();
    if (target.type != Token::Type::word) {
      out_.notes.push_back({t.line, "a redirection '" + t.op + "' without a target"});
      return;
    }
    if (cmd_.line == 0) cmd_.line = t.line;
    cmd_.redirects.push_back({t.io_number, t.op, std::move(target.word)});
  }

  // Reserved words at the start of a command: true when `word` was one (and was handled).
  bool on_reserved(const std::string& word, int line) {
    static const std::string kTransparent[] = {"if", "then", "elif", "else",
                                               "do", "!",    "{",    "time"};
    for (const auto& k : kTransparent) {
      if (word == k) return true;
    }
    if (word == "while" || word == "until") {
      loops_.push_back("");
      return true;
    }
    if (word == "fi" || word == "}") {
      end_pipeline();
      return true;
    }
    if (word == "done") {
      end_pipeline();
      if (!loops_.empty()) loops_.pop_back();
      return true;
    }
    if (word == "for") return on_for(line);
    if (word == "case") return on_case();
    if (word == "esac") {
      end_pipeline();
      if (!cases_.empty()) cases_.pop_back();
      expect_case_pattern_ = false;
      return true;
    }
    if (word == "function") {
      lexer_.next();  // the name; `()` and the body follow as usual
      return true;
    }
    return false;
  }

  // for NAME [in WORDS]; do ... done: the commands inside see NAME as one of several values.
  bool on_for(int line) {
    Token name = lexer_.next();
    std::string var = name.word.literal();
    Token t = lexer_.next();
    while (t.type == Token::Type::word) t = lexer_.next();  // `in` and the values
    if (var.empty() || var[0] == '(') {
      out_.notes.push_back({line, "a C-style for loop is read as if its body ran once"});
      var = "";
    }
    loops_.push_back(var);
    end_pipeline();
    return true;
  }

  bool on_case() {
    lexer_.next();  // the word
    lexer_.next();  // in
    cases_.push_back(true);
    expect_case_pattern_ = true;
    return true;
  }

  void on_word(Token t) {
    if (command_empty()) {
      if (expect_case_pattern_) {
        const std::string w = t.word.literal();
        if (w == "esac") {
          on_reserved(w, t.line);
          return;
        }
        // Everything up to the pattern's ')' is the pattern, not a command.
        for (Token p = std::move(t); p.type != Token::Type::end; p = lexer_.next()) {
          if (p.type == Token::Type::op && p.op == ")") break;
        }
        expect_case_pattern_ = false;
        return;
      }
      if (cmd_.redirects.empty() && t.word.is_literal() && !t.word.parts.empty() &&
          !t.word.parts[0].quoted && on_reserved(t.word.literal(), t.line)) {
        return;
      }
    }
    if (cmd_.line == 0) cmd_.line = t.line;
    if (cmd_.words.empty()) {
      if (auto a = split_assignment(t.word)) {
        cmd_.assignments.push_back(std::move(*a));
        return;
      }
    }
    cmd_.words.push_back(std::move(t.word));
  }

  ShellLexer lexer_;
  ShellScript& out_;
  SimpleCommand cmd_;
  size_t pipeline_ = 0;
  size_t position_ = 0;
  std::vector<std::string> loops_;  // loop variables, "" for while/until
  std::vector<bool> cases_;
  bool expect_case_pattern_ = false;
};

}  // namespace

ShellScript parse_shell(std::string_view text, int first_line) {
  ShellScript out;
  Parser(text, first_line, out).run();
  return out;
}

}  // namespace backup_doctor::init
