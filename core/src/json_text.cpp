#include "json_text.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace backup_doctor {
namespace {

// Finds where nlohmann's parser gives up; everything else is accepted and dropped.
struct ErrorPosition : nlohmann::json::json_sax_t {
  size_t offset = 0;
  std::string token;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::json::exception&) override {
    // position is 1-based, just past the token.
    offset = position > last_token.size() ? position - last_token.size() : 0;
    token = last_token;
    return false;
  }
};

constexpr off_t kMaxConfigFile = 64 << 20;

std::string line_col(const std::string& text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// Where the nesting first goes deeper than kMaxJsonDepth, if it does. nlohmann's parser is
// recursive: without this, a document nested a few hundred thousand deep overflows the stack.
std::optional<size_t> too_deep_at(const std::string& text) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

JsonParseOutcome parse_json_text(const std::string& text, const std::string& origin) {
  JsonParseOutcome out;
  if (auto at = too_deep_at(text)) {
    out.error = origin + ":" + line_col(text, *at) + ": invalid JSON: nested deeper than " +
                std::to_string(kMaxJsonDepth) +
                " levels; a checklist needs a handful, so this is not one";
    return out;
  }
  try {
    out.value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t offset = e.byte == 0 ? 0 : std::min(text.size(), static_cast<size_t>(e.byte - 1));
    std::string what = e.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] parse error at line..";
    // keep only the part after the last ": " which says what was expected.
    auto colon = what.find(": syntax error");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    out.error = origin + ":" + line_col(text, offset) + ": invalid JSON: " + what;
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e999) is an out_of_range that carries no position;
    // parse again with a SAX handler that is told where.
    ErrorPosition where;
    nlohmann::json::sax_parse(text, &where);
    std::string what = where.token.empty() ? std::string(e.what()) : where.token;
    out.error = origin + ":" + line_col(text, where.offset) + ": invalid JSON: the number " + what +
                " is out of range (larger than a double can hold); write it smaller";
  }
  return out;
}

std::optional<std::string> read_text_file(const std::filesystem::path& file, std::string& error) {
  struct stat exists {};
  if (::stat(file.c_str(), &exists) != 0) {
    error = file.string() + ": cannot read the file: " + sdk::errno_text(errno);
    return std::nullopt;
  }
  // Checked once the file is known to exist, so that a missing file is reported as missing.
  if (geteuid() == 0) {
    if (std::string why = support::untrusted_path_reason(file.string()); !why.empty()) {
      error = file.string() + ": refused: " + why +
              ". Running as root, backup-doctor reads checklists, profiles and secret files only "
              "when nobody but root can change them (anyone who can would decide what runs as "
              "root): make them and their directories root's and not group- or world-writable "
              "(chown root, chmod go-w).";
      return std::nullopt;
    }
  }
  support::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    error = file.string() + ": cannot read the file: " + sdk::errno_text(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = file.string() + ": cannot read the file: it is a " +
            support::file_type_word(st.st_mode) + ", not a regular file";
    return std::nullopt;
  }
  if (st.st_size > kMaxConfigFile) {
    error = file.string() + ": cannot read the file: it is " + std::to_string(st.st_size >> 20) +
            " MiB; checklists, profiles and secret files are limited to 64 MiB";
    return std::nullopt;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = file.string() + ": cannot read the file: " + sdk::errno_text(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxConfigFile)) {
      error = file.string() + ": cannot read the file: it grew past 64 MiB while being read";
      return std::nullopt;
    }
  }
  return text;
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
