// Parsing JSON files with errors a person can act on: file, line, column and what was expected.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace backup_doctor {

struct JsonParseOutcome {
  std::optional<nlohmann::json> value;
  std::string error;  // "FILE:LINE:COL: invalid JSON: ..." when value is empty
};

JsonParseOutcome parse_json_text(const std::string& text, const std::string& origin);
JsonParseOutcome parse_json_file(const std::filesystem::path& file);

// The whole file, or an error message naming it.
std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error);

// "checks[3].with.path" from a JSON pointer-like list of tokens.
std::string json_path(const std::vector<std::string>& tokens);

}  // namespace backup_doctor
