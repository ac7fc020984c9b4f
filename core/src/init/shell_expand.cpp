#include "init/shell_expand.hpp"
#include "init/words.hpp"

#include "init/shell_lexer.hpp"

#include <cctype>

namespace backup_doctor::init {
namespace {

// No path is longer (PATH_MAX): a longer value (A="$A$A" again and again) is not one.
constexpr size_t kMaxValue = 4096;
// ${X:-${X:-...}} and $(date $(date ...)) deeper than this are not followed (each level is
// read again from its text, and recursion has a stack to overflow).
constexpr int kMaxNesting = 16;
const char* const kTooLong = "a value longer than 4096 bytes";

void append(Expanded& out, const std::string& text, bool exact) {
  // Consecutive unknowns collapse into one `*`.
  if (!exact && text == "*" && !out.text.empty() && out.text.back() == '*') {
    out.exact = false;
    return;
  }
  if (out.text.size() + text.size() > kMaxValue) {
    if (out.text.empty() || out.text.back() != '*') out.text += '*';
    if (out.unknown.empty() || out.unknown.back() != kTooLong) out.unknown.push_back(kTooLong);
    out.exact = false;
    return;
  }
  out.text += text;
  out.exact = out.exact && exact;
}

void mark_unknown(Expanded& out, const std::string& what) {
  append(out, "*", false);
  out.unknown.push_back(what);
}

std::string dir_name(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const size_t slash = s.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : s.substr(0, slash);
}

// $(...): date, basename and dirname are understood; anything else is unknown.
void expand_command(Expanded& out, const WordPart& part, ShellEnvironment& env) {
  ShellScript inner = parse_shell(part.text);
  if (inner.commands.size() == 1 && !inner.commands[0].words.empty()) {
    auto& words = inner.commands[0].words;
    const std::string program = base_name(words[0].literal());
    if (program == "date") {
      for (size_t i = 1; i < words.size(); ++i) {
        Expanded arg = expand_word(words[i], env);
        if (arg.exact && !arg.text.empty() && arg.text[0] == '+') {
          append(out, date_format_glob(arg.text.substr(1)), false);
          return;
        }
      }
    } else if ((program == "basename" || program == "dirname") && words.size() >= 2) {
      Expanded arg = expand_word(words[1], env);
      if (arg.exact) {
        std::string r = program == "basename" ? base_name(arg.text) : dir_name(arg.text);
        if (program == "basename" && words.size() == 3) {
          const std::string suffix = words[2].literal();
          if (!suffix.empty() && r.size() > suffix.size() && r.ends_with(suffix))
            r.resize(r.size() - suffix.size());
        }
        append(out, r, true);
        return;
      }
    }
  }
  // Named by its program only: its arguments may be a password (`$(sshpass -p PW ssh ...)`).
  const bool one_word = inner.commands.size() == 1 && inner.commands[0].words.size() == 1 &&
                        inner.commands[0].assignments.empty();
  const std::string program = inner.commands.empty() || inner.commands[0].words.empty()
                                  ? ""
                                  : inner.commands[0].words[0].raw;
  mark_unknown(out, one_word ? "$(" + part.text + ")" : "$(" + program + " ...)");
}

// PGPASSWORD, DB_PASS, MYSQL_PWD, API_TOKEN, AWS_SECRET_ACCESS_KEY: what such a variable holds
// is never written into a path, a pattern or a note; it is unknown, as a secret should be.
bool secret_name(const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // PGPASSFILE, DB_PASSWORD_FILE, SECRETS_DIR name where a secret is: a path, for the checks.
  if (upper.ends_with("FILE") || upper.ends_with("_PATH") || upper.ends_with("_DIR")) return false;
  for (const char* word : {"PASS", "SECRET", "TOKEN", "CREDENTIAL", "API_KEY", "APIKEY"})
    if (upper.find(word) != std::string::npos) return true;
  return upper.ends_with("_PWD");
}

// ${X%suffix}, ${X#prefix} and their greedy forms, with a literal pattern only.
bool strip_affix(std::string& value, const std::string& op, const std::string& pattern) {
  if (pattern.find_first_of("*?[") != std::string::npos) return false;
  if ((op == "%" || op == "%%") && value.ends_with(pattern))
    value.resize(value.size() - pattern.size());
  if ((op == "#" || op == "##") && value.starts_with(pattern)) value.erase(0, pattern.size());
  return true;
}

void expand_parameter(Expanded& out, const WordPart& part, ShellEnvironment& env) {
  if (secret_name(part.text)) {
    mark_unknown(out, "$" + part.text);
    return;
  }
  const ShellValue* value = env.find(part.text);
  const bool set = value != nullptr;
  const bool non_empty = set && !value->text.empty();
  const bool default_ops = part.op == ":-" || part.op == "-" || part.op == ":=" || part.op == "=";
  if (default_ops && !(part.op[0] == ':' ? non_empty : set)) {
    Expanded d = expand_word(parse_word(part.arg), env);
    if ((part.op == ":=" || part.op == "=") && env.vars.size() < ShellEnvironment::kMaxVariables)
      env.vars[part.text] = {d.text, d.exact};
    out.unknown.insert(out.unknown.end(), d.unknown.begin(), d.unknown.end());
    append(out, d.text, d.exact);
    return;
  }
  if (part.op == ":+" || part.op == "+") {
    if (part.op == ":+" ? non_empty : set) {
      Expanded a = expand_word(parse_word(part.arg), env);
      append(out, a.text, a.exact);
    }
    return;
  }
  if (!set) {
    mark_unknown(out, "$" + part.text);
    return;
  }
  std::string text = value->text;
  if (part.op == "%" || part.op == "%%" || part.op == "#" || part.op == "##") {
    if (!value->exact || !strip_affix(text, part.op, parse_word(part.arg).literal())) {
      mark_unknown(out, "${" + part.text + part.op + part.arg + "}");
      return;
    }
  } else if (!part.op.empty() && part.op != ":?" && part.op != "?") {
    mark_unknown(out, "${" + part.text + part.op + part.arg + "}");
    return;
  }
  append(out, text, value->exact);
}

// A leading unquoted ~ or ~user is a home directory.
bool expand_tilde(Expanded& out, const WordPart& first, ShellEnvironment& env, std::string& rest) {
  if (first.kind != WordPart::Kind::literal || first.quoted || first.text.empty() ||
      first.text[0] != '~')
    return false;
  const size_t slash = first.text.find('/');
  const std::string user =
      first.text.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  std::string home;
  if (user.empty()) {
    if (const ShellValue* h = env.find("HOME")) home = h->text;
  } else if (auto it = env.homes.find(user); it != env.homes.end()) {
    home = it->second;
  }
  if (home.empty()) return false;
  append(out, home, true);
  rest = slash == std::string::npos ? "" : first.text.substr(slash);
  return true;
}

}  // namespace

const ShellValue* ShellEnvironment::find(const std::string& name) const {
  auto it = vars.find(name);
  return it == vars.end() ? nullptr : &it->second;
}

Expanded expand_word(const Word& word, ShellEnvironment& env) {
  Expanded out;
  static thread_local int nesting = 0;
  if (nesting >= kMaxNesting) {
    mark_unknown(out, "an expansion nested more than 16 deep");
    return out;
  }
  ++nesting;
  struct Leave {
    ~Leave() { --nesting; }
  } leave;
  for (size_t i = 0; i < word.parts.size(); ++i) {
    const WordPart& part = word.parts[i];
    switch (part.kind) {
      case WordPart::Kind::literal: {
        std::string rest;
        if (i == 0 && expand_tilde(out, part, env, rest))
          append(out, rest, true);
        else
          append(out, part.text, true);
        break;
      }
      case WordPart::Kind::parameter:
        if (part.op == "length")
          mark_unknown(out, "${#" + part.text + "}");
        else
          expand_parameter(out, part, env);
        break;
      case WordPart::Kind::command:
        expand_command(out, part, env);
        break;
      case WordPart::Kind::arithmetic:
        mark_unknown(out, "$((" + part.text + "))");
        break;
    }
  }
  return out;
}

std::string date_format_glob(const std::string& format) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    char c = format[++i];
    while ((c == '-' || c == '_' || c == '0') && i + 1 < format.size()) c = format[++i];  // %-d
    switch (c) {
      case 'Y':
        out += "????";
        break;
      case 'G':
        out += "????";
        break;
      case 'y':
      case 'm':
      case 'd':
      case 'H':
      case 'M':
      case 'S':
      case 'I':
      case 'V':
      case 'U':
      case 'W':
      case 'C':
      case 'g':
        out += "??";
        break;
      case 'j':
        out += "???";
        break;
      case 'u':
      case 'w':
        out += "?";
        break;
      case 'F':
        out +=
            "????"
            "-"
            "??"
            "-"
            "??";  // split: "??-" is a trigraph
        break;
      case 'T':
        out += "??:??:??";
        break;
      case 'R':
        out += "??:??";
        break;
      case 'D':
        out +=
            "??"
            "/"
            "??"
            "/"
            "??";
        break;
      case '%':
        out += "%";
        break;
      default:
        if (out.empty() || out.back() != '*') out += "*";
    }
  }
  return out;
}

Word parse_word(const std::string& text) {
  std::vector<SyntaxNote> notes;
  ShellLexer lexer(text, 1, notes);
  Token t = lexer.next();
  return t.type == Token::Type::word ? t.word : Word{};
}

}  // namespace backup_doctor::init
