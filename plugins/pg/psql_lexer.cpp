#include "psql_lexer.hpp"

#include <cctype>
#include <map>

namespace backup_doctor::pg {

namespace {

bool ident_start(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) {
  return ident_start(c) || std::isdigit(c) || c == '$';
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// What the meta-command starting at bytes[at] (a backslash) would do, for the message.
std::string describe_meta(std::string_view bytes, size_t at) {
  std::string name;
  size_t i = at + 1;
  while (i < bytes.size() && std::isalpha(static_cast<unsigned char>(bytes[i])) && name.size() < 16)
    name += bytes[i++];
  if (name.empty() && i < bytes.size()) name = bytes[i];
  static const std::map<std::string, std::string> known = {
      {"!", "runs a shell command"},
      {"c", "connects to another database"},
      {"connect", "connects to another database"},
      {"o", "writes query output to a file or a command"},
      {"out", "writes query output to a file or a command"},
      {"g", "sends the query, optionally into a file or a command"},
      {"w", "writes the query buffer to a file or a command"},
      {"write", "writes the query buffer to a file or a command"},
      {"copy", "reads or writes files on this host"},
      {"i", "runs another script file"},
      {"include", "runs another script file"},
      {"ir", "runs another script file"},
      {"set", "sets psql variables"},
      {"setenv", "sets environment variables"},
      {"cd", "changes directory"},
      {"lo_import", "reads a file on this host into the database"},
      {"lo_export", "writes a file on this host"},
      {"gexec", "runs query results as statements"},
      {"unrestrict", "leaves psql's restricted mode"},
  };
  auto it = known.find(name);
  return "\\" + name + " (" + (it != known.end() ? it->second : "a psql meta-command") + ")";
}

// The objects whose CREATE, ALTER or DROP reaches beyond the database restored into.
bool cluster_object(const std::string& word, const std::string& next) {
  if (word == "USER") return next != "MAPPING";  // CREATE USER MAPPING belongs to a database
  return word == "DATABASE" || word == "ROLE" || word == "GROUP" || word == "TABLESPACE";
}

}  // namespace

bool PsqlLexer::is_restrict_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (std::string_view cmd : {"\\restrict ", "\\unrestrict "}) {
    if (!line.starts_with(cmd)) continue;
    std::string_view key = line.substr(cmd.size());
    if (key.empty()) return false;
    for (char c : key)
      if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    return true;
  }
  return false;
}

// pg_dump's appendPsqlMetaConnect(): "\connect name" or "\connect -reuse-previous=on "dbname=..."",
// the argument a plain name or one double-quoted token (quotes doubled) and nothing after it.
bool PsqlLexer::is_connect_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with("\\connect ")) return false;
  std::string_view arg = line.substr(9);
  if (arg.starts_with("-reuse-previous=on ")) arg.remove_prefix(19);
  if (arg.empty()) return false;
  if (arg.front() != '"') {
    for (char c : arg)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
    return true;
  }
  if (arg.size() < 2 || arg.back() != '"') return false;
  std::string_view inside = arg.substr(1, arg.size() - 2);
  for (size_t i = 0; i < inside.size(); ++i) {
    if (inside[i] != '"') continue;
    if (i + 1 >= inside.size() || inside[i + 1] != '"') return false;
    ++i;
  }
  return true;
}

bool PsqlLexer::at_top_level_line_start() const {
  return state_ == State::normal && line_start_ && !statement_started_ && pending_.empty() &&
         !copy_after_line_ && !finding_;
}

bool PsqlLexer::mid_statement() const {
  switch (state_) {
    case State::normal:
    case State::line_comment:
      return statement_started_ || !pending_.empty() || !word_.empty();
    case State::copy_data:
      return false;
    default:
      return true;
  }
}

bool PsqlLexer::unsafe(uint64_t line, std::string what) {
  if (!finding_) finding_ = ScriptFinding{line, std::move(what)};
  return false;
}

void PsqlLexer::note_word(std::string_view word) {
  if (word.empty()) return;
  std::string w = upper(word);
  if (!statement_started_) {
    first_word_ = w;
    statement_line_ = line_;
  }
  statement_started_ = true;
  if (head_count_ < 3) head_[head_count_++] = w;
  if (last_word_ == "FROM" && w == "STDIN" && paren_depth_ == 0) saw_from_stdin_ = true;
  // psqlscan.l's heuristic for CREATE [OR REPLACE] FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END.
  if (!std::isdigit(static_cast<unsigned char>(word[0]))) {
    if (identifier_count_ < 4 &&
        (w == "CREATE" || w == "FUNCTION" || w == "PROCEDURE" || w == "OR" || w == "REPLACE"))
      identifiers_[identifier_count_] = static_cast<char>(std::tolower(w[0]));
    ++identifier_count_;
    const char* id = identifiers_;
    bool routine =
        id[0] == 'c' && (id[1] == 'f' || id[1] == 'p' ||
                         (id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p')));
    if (routine && paren_depth_ == 0) {
      if (w == "BEGIN")
        ++begin_depth_;
      else if (w == "CASE" && begin_depth_ >= 1)
        ++begin_depth_;
      else if (w == "END" && begin_depth_ > 0)
        --begin_depth_;
    }
  }
  last_word_ = std::move(w);
}

void PsqlLexer::judge_statement() {
  if (cluster_statement_ || head_count_ < 2) return;
  const std::string& verb = head_[0];
  if ((verb == "CREATE" || verb == "ALTER" || verb == "DROP") && cluster_object(head_[1], head_[2]))
    cluster_statement_ = ScriptFinding{statement_line_, verb + " " + head_[1]};
}

void PsqlLexer::end_statement() {
  judge_statement();
  copy_after_line_ = first_word_ == "COPY" && saw_from_stdin_;
  first_word_.clear();
  last_word_.clear();
  saw_from_stdin_ = false;
  statement_started_ = false;
  paren_depth_ = begin_depth_ = identifier_count_ = 0;
  for (char& c : identifiers_) c = 0;
  for (auto& h : head_) h.clear();
  head_count_ = 0;
}

bool PsqlLexer::finish() {
  if (finding_) return false;
  if (state_ == State::normal && pending_.size() > 1 && pending_[0] == '$')
    word_ = pending_.substr(1);  // "$abc" at the very end: no dollar quote
  note_word(word_);
  word_.clear();
  judge_statement();
  return true;
}

// `pending_` holds the one multi-byte token that can straddle two calls: "-" (a comment?), "/"
// ("/*"?), "*" in a comment ("*/"?), ":" (a variable?), "'" or "\"" (doubled?), "\\" in an
// escape string, a dollar tag being read, or the start of a COPY data line.
size_t PsqlLexer::scan(std::string_view bytes) {
  if (finding_) return 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == 0) {
      unsafe(line_, "a NUL byte, which psql drops together with the rest of its input line");
      return i;
    }
    bool again = true;  // a byte that ends a token is looked at once more in the new state
    while (again) {
      again = false;
      if (!step(c, bytes, i, again)) return i;
    }
    end_of_byte(c);
  }
  return bytes.size();
}

void PsqlLexer::end_of_byte(unsigned char c) {
  if (c == '\n') {
    ++line_;
    line_start_ = true;
    if (state_ == State::normal && copy_after_line_) {
      copy_after_line_ = false;
      state_ = State::copy_data;
      pending_.clear();
    }
  } else if (state_ != State::copy_data) {
    line_start_ = false;
  }
}

bool PsqlLexer::step(unsigned char c, std::string_view bytes, size_t i, bool& again) {
  switch (state_) {
    case State::line_comment:
      // psql's comments end at a carriage return too.
      if (c == '\n' || c == '\r') state_ = State::normal;
      return true;
    case State::block_comment:
      if (pending_ == "*" && c == '/') {
        pending_.clear();
        if (--comment_depth_ == 0) state_ = State::normal;
      } else if (pending_ == "/" && c == '*') {
        pending_.clear();
        ++comment_depth_;
      } else {
        pending_ = (c == '*' || c == '/') ? std::string(1, static_cast<char>(c)) : "";
      }
      return true;
    case State::string:
    case State::escape_string:
      return step_string(c, again);
    case State::after_escape_string:
    case State::after_escape_comment:
      if (state_ == State::after_escape_string && c == '\'' && newline_after_escape_)
        return unsafe(line_,
                      "an E'' string continued on the next line, which psql and the server read "
                      "differently");
      step_after_escape(c, again);
      return true;
    case State::quoted_ident:
      if (pending_ == "\"") {
        pending_.clear();
        if (c != '"') {
          state_ = State::normal;
          again = true;
        }
      } else if (c == '"') {
        pending_ = "\"";
      }
      return true;
    case State::dollar_quote:
      // pending_ is how much of the closing tag has been seen.
      pending_ += static_cast<char>(c);
      if (dollar_tag_.compare(0, pending_.size(), pending_) != 0) pending_ = c == '$' ? "$" : "";
      if (pending_ == dollar_tag_) {
        pending_.clear();
        state_ = State::normal;
      }
      return true;
    case State::copy_data:
      step_copy_data(c);
      return true;
    case State::normal:
      return step_normal(c, bytes, i, again);
  }
  return true;
}

bool PsqlLexer::step_string(unsigned char c, bool& again) {
  const bool escape = state_ == State::escape_string;
  if (pending_ == "\\") {
    pending_.clear();  // the escaped byte, whatever it is
    high_byte_before_ = c >= 0x80;
    return true;
  }
  if (pending_ == "'") {
    pending_.clear();
    if (c == '\'') return true;  // a doubled quote
    state_ = escape ? State::after_escape_string : State::normal;
    newline_after_escape_ = false;
    again = true;
    return true;
  }
  if (c == '\'') {
    pending_ = "'";
    high_byte_before_ = false;
    return true;
  }
  if (c == '\\' && escape) {
    // In SJIS, BIG5, GBK and the like, 0x5c is also the second byte of a character.
    if (high_byte_before_)
      return unsafe(line_,
                    "a backslash right after a byte above 0x7f in an E'' string, which psql "
                    "reads as part of that character in some client encodings");
    pending_ = "\\";
    return true;
  }
  if (c == '\\' && strict_strings_)
    return unsafe(line_,
                  "a backslash in a string literal, whose meaning depends on "
                  "standard_conforming_strings (which the dump can change)");
  high_byte_before_ = c >= 0x80;
  return true;
}

// After an E'' string: whitespace and -- comments up to the next token. A quote after a line
// break is refused in step(); anything else is lexed as usual.
void PsqlLexer::step_after_escape(unsigned char c, bool& again) {
  if (state_ == State::after_escape_comment) {
    if (c == '\n' || c == '\r') {
      state_ = State::after_escape_string;
      newline_after_escape_ = true;
    }
    return;
  }
  if (pending_ == "-") {
    pending_.clear();
    if (c == '-') {
      state_ = State::after_escape_comment;
      return;
    }
    state_ = State::normal;
    pending_ = "-";  // a lone '-', and `c` after it
    again = true;
    return;
  }
  switch (c) {
    case ' ':
    case '\t':
    case '\f':
      return;
    case '\n':
    case '\r':
      newline_after_escape_ = true;
      return;
    case '-':
      pending_ = "-";
      return;
    default:
      state_ = State::normal;
      again = true;
  }
}

void PsqlLexer::step_copy_data(unsigned char c) {
  if (!line_start_) return;
  if (c == '\n') {
    bool end = pending_ == "\\." || pending_ == "\\.\r";
    pending_.clear();
    if (end) state_ = State::normal;
  } else if (pending_.size() < 3) {
    pending_ += static_cast<char>(c);
  } else {
    line_start_ = false;  // a data line; nothing in it matters until its end
    pending_.clear();
  }
}

// The byte after a held-back first byte of a token ("-", "/", ":", or a dollar tag being read).
bool PsqlLexer::step_pending(unsigned char c, bool& again) {
  const char p = pending_[0];
  if (p == '$') {  // reading a dollar tag: $tag$ or $$
    bool body = pending_.size() == 1 ? ident_start(c) : ident_char(c) && c != '$';
    if (c == '$') {
      dollar_tag_ = pending_ + "$";
      pending_.clear();
      state_ = State::dollar_quote;
      statement_started_ = true;
      return true;
    }
    if (body) {
      pending_ += static_cast<char>(c);
      return true;
    }
    // "$1", "$e'": not a dollar quote. As psql, only the '$' is taken; what followed it is
    // lexed again (so "$E'" still starts an escape string).
    word_ = pending_.substr(1);
    pending_.clear();
    statement_started_ = true;
    again = true;
    return true;
  }
  pending_.clear();
  if (p == '-' && c == '-') {
    state_ = State::line_comment;
    return true;
  }
  if (p == '/' && c == '*') {
    state_ = State::block_comment;
    comment_depth_ = 1;
    return true;
  }
  if (p == ':' && c == ':') return true;  // a cast, "::"
  if (p == ':' && c >= 'A' && c <= 'Z')
    return unsafe(line_, std::string("a psql variable substituted as text (:") +
                             static_cast<char>(c) + "...), which psql lexes again");
  again = true;
  return true;
}

bool PsqlLexer::step_normal(unsigned char c, std::string_view bytes, size_t i, bool& again) {
  // Outside quotes and comments pg_dump writes ASCII only; in some client encodings a byte
  // above 0x7f starts a character whose second byte psql would not see as '\\', ';' or ':'.
  if (c >= 0x80)
    return unsafe(line_,
                  "a byte above 0x7f outside quotes and comments, which psql reads differently "
                  "in some client encodings");
  if (!pending_.empty()) return step_pending(c, again);
  if (copy_after_line_ && c != '\n' && c != ' ' && c != '\t' && c != '\r')
    return unsafe(line_, "text after COPY ... FROM stdin on the same line");
  if (c == '$' && !word_.empty() && std::isdigit(static_cast<unsigned char>(word_[0])))
    return unsafe(line_,
                  "a '$' right after a number, which psql versions read differently (a dollar "
                  "quote or part of a name)");
  if (ident_char(c) && !(c == '$' && word_.empty())) {
    word_ += static_cast<char>(c);
    return true;
  }
  std::string word;
  word.swap(word_);
  if (c == '\'') {
    state_ = (word == "E" || word == "e") ? State::escape_string : State::string;
    high_byte_before_ = false;
    if (state_ == State::string) note_word(word);
    statement_started_ = true;
    return true;
  }
  note_word(word);
  switch (c) {
    case '\\':
      return unsafe(line_, describe_meta(bytes, i));
    case '"':
      state_ = State::quoted_ident;
      statement_started_ = true;
      break;
    case '-':
    case '/':
    case ':':
    case '$':
      pending_ = static_cast<char>(c);
      if (c != '-' && c != '/') statement_started_ = true;
      break;
    case ';':
      if (paren_depth_ == 0 && begin_depth_ == 0) end_statement();
      break;
    case '(':
      ++paren_depth_;
      statement_started_ = true;
      break;
    case ')':
      if (paren_depth_ > 0) --paren_depth_;
      statement_started_ = true;
      break;
    case ' ':
    case '\t':
    case '\r':
    case '\n':
      break;
    default:
      statement_started_ = true;
  }
  return true;
}

}  // namespace backup_doctor::pg
