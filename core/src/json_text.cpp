#include "json_text.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace backup_doctor {

JsonParseOutcome parse_json_text(const std::string& text, const std::string& origin) {
  JsonParseOutcome out;
  try {
    out.value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t offset = e.byte == 0 ? 0 : std::min(text.size(), static_cast<size_t>(e.byte - 1));
    size_t line = 1, col = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n')
        ++line, col = 1;
      else
        ++col;
    }
    std::string what = e.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] parse error at line..";
    // keep only the part after the last ": " which says what was expected.
    auto colon = what.find(": syntax error");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    out.error =
        origin + ":" + std::to_string(line) + ":" + std::to_string(col) + ": invalid JSON: " + what;
  }
  return out;
}

std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = file.string() + ": cannot read the file: " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

JsonParseOutcome parse_json_file(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) return {std::nullopt, error};
  return parse_json_text(*text, file.string());
}

std::string json_path(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) {
      out += "[" + t + "]";
    } else {
      if (!out.empty()) out += ".";
      out += t;
    }
  }
  return out;
}

}  // namespace backup_doctor
