// Parsing JSON files with errors a person can act on: file, line, column and what was expected.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace backup_doctor {

// Where each value of a parsed document starts, so that a problem found later (by the schema,
// by the plan) can name the line and column of the value it is about.
class SourceMap {
 public:
  void add(const std::vector<std::string>& path, size_t offset);
  void set_text(const std::string& text);  // for line starts
  // "LINE:COL" of the value at `path`, or of the nearest enclosing value; empty when unknown.
  std::string line_col(const std::vector<std::string>& path) const;
  std::string line_col_at(size_t offset) const;  // of a byte offset

 private:
  std::unordered_map<std::string, size_t> offsets_;
  std::vector<size_t> line_starts_;
  std::string text_;  // for columns in characters
};

struct JsonParseOutcome {
  std::optional<nlohmann::json> value;
  SourceMap source;
  // When value is empty: "FILE:LINE:COL: ..." for each problem (invalid JSON, duplicate keys,
  // NUL characters in strings).
  std::vector<std::string> errors;
};

JsonParseOutcome parse_json_text(const std::string& text, const std::string& origin);
JsonParseOutcome parse_json_file(const std::filesystem::path& file);

// The whole file, or an error message naming it. For the files that decide what runs
// (checklists, profiles, secret files): a regular file of at most 64 MiB, and when we run as
// root, one that nobody but root can change (it, the directories above it and every link on the
// way are root's and not group/world-writable), the rule sshd's StrictModes and cron apply.
std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error);

// All of standard input, with the same 64 MiB limit.
std::optional<std::string> read_stdin_text(std::string& error);

// Documents nested deeper than this are refused with the position where it happens.
inline constexpr size_t kMaxJsonDepth = 64;

// "checks[3].with.path" from a JSON pointer-like list of tokens.
std::string json_path(const std::vector<std::string>& tokens);

}  // namespace backup_doctor
