// Words of a script turned into what they would be at run time, as far as reading the script
// can tell: variables assigned earlier are substituted, `$(date +%F)` becomes the glob
// pattern of the names it produces (`????-??-??`), anything else unknowable becomes `*` and
// is named, so that a generated check says where its pattern came from.
#pragma once

#include "init/shell_syntax.hpp"

#include <map>
#include <string>
#include <vector>

namespace backup_doctor::init {

struct ShellValue {
  std::string text;
  bool exact = true;  // false: `text` is a glob pattern standing for what could not be known
};

struct ShellEnvironment {
  // Each value may hold 4 KiB: no script sets more variables, and a hostile one must not make
  // gigabytes of them (`: ${V1:=$BIG} ${V2:=$BIG} ...`).
  static constexpr size_t kMaxVariables = 2000;
  std::map<std::string, ShellValue> vars;
  std::map<std::string, std::string> homes;  // user -> home directory, for ~user

  const ShellValue* find(const std::string& name) const;
};

struct Expanded {
  std::string text;  // exact text, or a glob pattern when !exact
  bool exact = true;
  std::vector<std::string> unknown;  // what made it inexact: "$BACKUP_ROOT", "$(hostname)"
};

// Expands one word. `${X:=default}` assigns, as the shell does, hence the mutable environment.
Expanded expand_word(const Word& word, ShellEnvironment& env);

// The glob that a date(1) format's output matches: "+%Y-%m-%d_%H%M" -> "????-??-??_????".
std::string date_format_glob(const std::string& format);

// A single word written as text (a default value in ${X:-...}), parsed with the shell's rules.
Word parse_word(const std::string& text);

}  // namespace backup_doctor::init
