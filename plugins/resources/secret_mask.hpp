// Masking secrets in other processes' command lines before they are shown. Header-only and
// self-contained (standard library only) so that it can move into the SDK next to scrub.hpp,
// where it belongs: every plugin that shows a command line it did not write needs it.
//
// What is masked (the value becomes "***"; everything else is kept, so the line stays useful):
//   - NAME=VALUE where NAME looks secret (password, passwd, pwd, pass, secret, token, key,
//     auth, credential), with or without leading dashes: --password=x, PGPASSWORD=x,
//     MYSQL_PWD=x, password=x inside a conninfo string, ?password=x&... in a URL, a mount's
//     username=u,password=p; a quoted value ('a b') is masked whole. Names that point to a
//     file or a directory (--password-file=) are left alone;
//   - an option with such a name followed by its value as the next word: --password x,
//     --secret-access-key x, --token x, openssl's -pass x;
//   - scheme://user:PASSWORD@host (postgresql://, mysql://, https://...);
//   - per program: mysql/mysqldump/mariadb... -pSECRET, sshpass -p X / -pX, curl -u user:PASS
//     (and --user, -U, --proxy-user), redis-cli -a X, mongo* -p X, ldap* -w X, smbclient -U
//     user%PASS, zip/unzip -P X, 7z -pX, sqlcmd/bcp -P X, lftp -u user,PASS, openssl -k X;
//   - an HTTP header argument whose name is secret-like: "Authorization: Bearer ...",
//     "Cookie: ...", "X-Api-Key: ...".
// A single argument holding a whole command (sh -c '...', a faked argv[0] from exec -a) is
// split into words, with shell quotes respected, and masked the same way, recursively.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::resources::secret_mask {

inline constexpr std::string_view kMask = "***";

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// "--db-password", "PGPASSWORD", "password", "api_key": a name whose value is a secret.
inline bool secret_name(std::string_view raw) {
  std::string name = lower(raw);
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  if (name.empty() || name.rfind("no-", 0) == 0) return false;
  for (std::string_view not_secret : {"file", "path", "dir", "fd", "env", "command", "cmd", "type",
                                      "length", "size", "id", "name", "user", "prompt"}) {
    if (name.size() >= not_secret.size() &&
        name.compare(name.size() - not_secret.size(), not_secret.size(), not_secret) == 0)
      return false;
  }
  for (std::string_view w :
       {"password", "passwd", "pwd", "pass", "secret", "token", "key", "auth", "credential"})
    if (name.find(w) != std::string::npos) return true;
  return false;
}

inline bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// Where a value that starts at `i` ends: a quoted value at its closing quote, else at a
// separator of lists of settings (& , ;) or a space.
inline size_t value_end(std::string_view w, size_t i) {
  if (i < w.size() && (w[i] == '\'' || w[i] == '"')) {
    size_t close = w.find(w[i], i + 1);
    return close == std::string_view::npos ? w.size() : close + 1;
  }
  while (i < w.size() && w[i] != '&' && w[i] != ',' && w[i] != ';' && !is_space(w[i])) ++i;
  return i;
}

// NAME=VALUE with a secret NAME, anywhere in the word.
inline std::string mask_assignments(std::string_view w) {
  std::string out;
  size_t copied = 0;
  for (size_t eq = w.find('='); eq != std::string_view::npos; eq = w.find('=', eq + 1)) {
    size_t start = eq;
    while (start > copied && name_char(w[start - 1])) --start;
    if (start == eq || !secret_name(w.substr(start, eq - start))) continue;
    size_t end = value_end(w, eq + 1);
    if (end == eq + 1) continue;
    out.append(w.substr(copied, eq + 1 - copied)).append(kMask);
    copied = end;
    eq = end - 1;
  }
  out.append(w.substr(copied));
  return out;
}

// scheme://user:PASSWORD@host/...
inline std::string mask_uri(std::string word) {
  for (size_t scheme = word.find("://"); scheme != std::string::npos;
       scheme = word.find("://", scheme + 3)) {
    size_t start = scheme + 3;
    size_t end = word.find_first_of("/?# \t", start);
    if (end == std::string::npos) end = word.size();
    size_t at = word.rfind('@', end);
    if (at == std::string::npos || at < start) continue;
    size_t colon = word.find(':', start);
    if (colon == std::string::npos || colon > at || colon + 1 == at) continue;
    word.replace(colon + 1, at - colon - 1, kMask);
  }
  return word;
}

// "Authorization: Bearer x", "Cookie: a=b", "X-Api-Key: x".
inline bool secret_header(const std::string& text, std::string& masked) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || text.find("://") != std::string::npos)
    return false;
  std::string name = lower(text.substr(0, colon));
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  bool secret = name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
                secret_name(name);
  if (!secret || colon + 1 >= text.size()) return false;
  masked = text.substr(0, colon + 1) + " " + std::string(kMask);
  return true;
}

enum class Program {
  other,
  mysql,
  sshpass,
  curl,
  redis,
  mongo,
  ldap,
  smb,
  zip,
  sevenzip,
  sqlcmd,
  lftp,
  openssl,
  mydumper
};

inline Program program_of(std::string_view word) {
  if (word.empty() || word.front() == '-' || word.find('=') != std::string_view::npos)
    return Program::other;
  auto slash = word.rfind('/');
  std::string base = lower(slash == std::string_view::npos ? word : word.substr(slash + 1));
  auto starts = [&](std::string_view p) { return base.rfind(p, 0) == 0; };
  if (base == "mydumper" || base == "myloader") return Program::mydumper;
  if (starts("mysql") || starts("mariadb") || base == "mariabackup" || base == "xtrabackup")
    return Program::mysql;
  if (base == "sshpass") return Program::sshpass;
  if (base == "curl") return Program::curl;
  if (base == "redis-cli") return Program::redis;
  if (starts("mongo")) return Program::mongo;
  if (starts("ldap")) return Program::ldap;
  if (base == "smbclient" || base == "rpcclient" || base == "smbget" || base == "smbcacls")
    return Program::smb;
  if (base == "zip" || base == "unzip") return Program::zip;
  if (base == "7z" || base == "7za" || base == "7zr") return Program::sevenzip;
  if (base == "sqlcmd" || base == "bcp" || base == "isql" || base == "osql") return Program::sqlcmd;
  if (base == "lftp") return Program::lftp;
  if (base == "openssl") return Program::openssl;
  return Program::other;
}

// How the value of a program's option is masked.
enum class ValueMask { none, whole, after_colon, after_percent, after_comma };

// The program's short option that carries a secret: its letter and how its value is masked.
struct SecretFlag {
  char letter = 0;
  ValueMask mask = ValueMask::none;
  bool attached_only = false;  // mysql -pSECRET: "-p" alone prompts, the next word is the db
};

inline std::vector<SecretFlag> secret_flags(Program p) {
  switch (p) {
    case Program::mysql:
      return {{'p', ValueMask::whole, true}};
    case Program::mydumper:
    case Program::sshpass:
    case Program::mongo:
      return {{'p', ValueMask::whole, false}};
    case Program::curl:
      return {{'u', ValueMask::after_colon, false}, {'U', ValueMask::after_colon, false}};
    case Program::redis:
      return {{'a', ValueMask::whole, false}};
    case Program::ldap:
      return {{'w', ValueMask::whole, false}};
    case Program::smb:
      return {{'U', ValueMask::after_percent, false}};
    case Program::zip:
    case Program::sqlcmd:
      return {{'P', ValueMask::whole, false}};
    case Program::sevenzip:
      return {{'p', ValueMask::whole, true}};
    case Program::lftp:
      return {{'u', ValueMask::after_comma, false}};
    case Program::openssl:
      return {{'k', ValueMask::whole, false}, {'K', ValueMask::whole, false}};
    case Program::other:
      break;
  }
  return {};
}

inline std::string mask_value(const std::string& value, ValueMask how) {
  char sep = how == ValueMask::after_colon     ? ':'
             : how == ValueMask::after_percent ? '%'
             : how == ValueMask::after_comma   ? ','
                                               : 0;
  if (how == ValueMask::none) return value;
  if (sep == 0) return std::string(kMask);
  size_t at = value.find(sep);
  return at == std::string::npos ? value : value.substr(0, at + 1) + std::string(kMask);
}

std::string mask_text(const std::string& text);

inline bool whole_quoted(const std::string& w) {
  return w.size() >= 2 && (w.front() == '\'' || w.front() == '"') && w.back() == w.front();
}

// A word with spaces in it: a whole command in one argument (sh -c '...', exec -a), a quoted
// command inside one, or a header. `from_text`: the word came out of mask_text's split, so its
// spaces are inside quotes.
inline std::string mask_spaced_word(const std::string& w, bool from_text) {
  std::string header;
  if (whole_quoted(w)) {
    std::string inner = w.substr(1, w.size() - 2);
    return w.front() + (secret_header(inner, header) ? header : mask_text(inner)) + w.back();
  }
  if (secret_header(w, header)) return header;
  return from_text ? mask_uri(mask_assignments(w)) : mask_text(w);
}

// Masks a sequence of words (an argv, or the words of one shell command) in place.
inline void mask_words(std::vector<std::string>& words, bool from_text = false) {
  Program program = Program::other;
  ValueMask next = ValueMask::none;
  for (auto& w : words) {
    if (next != ValueMask::none) {
      w = mask_value(w, next);
      next = ValueMask::none;
      continue;
    }
    if (w == "|" || w == "||" || w == "&&" || w == ";" || w == "&") {
      program = Program::other;
      continue;
    }
    if (std::any_of(w.begin(), w.end(), is_space)) {
      w = mask_spaced_word(w, from_text);
      continue;
    }
    if (Program p = program_of(w); p != Program::other) {
      program = p;
      continue;
    }
    if (program == Program::curl &&
        (w.rfind("--user=", 0) == 0 || w.rfind("--proxy-user=", 0) == 0)) {
      w = w.substr(0, w.find('=') + 1) +
          mask_value(w.substr(w.find('=') + 1), ValueMask::after_colon);
      continue;
    }
    if (w.size() >= 2 && w[0] == '-' && w[1] != '-') {
      bool handled = false;
      for (const auto& f : secret_flags(program)) {
        if (w[1] != f.letter) continue;
        handled = true;
        if (w.size() > 2)
          w = w.substr(0, 2) + mask_value(w.substr(2), f.mask);
        else if (!f.attached_only)
          next = f.mask;
      }
      if (handled) continue;
    }
    std::string masked = mask_uri(mask_assignments(w));
    if (masked != w) {
      w = masked;
      continue;
    }
    if (program == Program::curl && (w == "--user" || w == "--proxy-user")) {
      next = ValueMask::after_colon;
      continue;
    }
    if (w.size() > 1 && w[0] == '-' && w.find('=') == std::string::npos && secret_name(w))
      next = ValueMask::whole;  // --password VALUE, -pass VALUE
  }
}

// Splits `text` into shell words (quotes kept in the words), masks them, and puts the text back
// together with its original spacing.
inline std::string mask_text(const std::string& text) {
  std::vector<std::string> words, gaps;
  std::string gap;
  size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      gap += text[i++];
      continue;
    }
    gaps.push_back(gap);
    gap.clear();
    size_t start = i;
    char quote = 0;
    for (; i < text.size() && (quote || !is_space(text[i])); ++i) {
      if (quote && text[i] == quote)
        quote = 0;
      else if (!quote && (text[i] == '\'' || text[i] == '"'))
        quote = text[i];
      else if (text[i] == '\\' && quote != '\'' && i + 1 < text.size())
        ++i;
    }
    words.push_back(text.substr(start, i - start));
  }
  mask_words(words, true);
  std::string out;
  for (size_t k = 0; k < words.size(); ++k) out += gaps[k] + words[k];
  return out + gap;
}

// The argv of a process with its secrets masked.
inline std::vector<std::string> mask_argv(std::vector<std::string> argv) {
  mask_words(argv);
  return argv;
}

}  // namespace backup_doctor::resources::secret_mask
