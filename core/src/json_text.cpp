#include "json_text.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>

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

// Columns count characters, not bytes: UTF-8 continuation bytes do not start one.
size_t column_of(const std::string& text, size_t line_start, size_t offset) {
  size_t col = 1;
  for (size_t i = line_start; i < offset && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  return col;
}

std::string line_col(const std::string& text, size_t offset) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i)
    if (text[i] == '\n') ++line, line_start = i + 1;
  return std::to_string(line) + ":" + std::to_string(column_of(text, line_start, offset));
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

// A character iterator that tells how far nlohmann's lexer has read: the parse callback uses it
// to know where each value is, which the library does not report.
struct CountingIterator {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  const char* at;
  const char** reached;
  reference operator*() const { return *at; }
  CountingIterator& operator++() {
    *reached = ++at;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at == other.at; }
  bool operator!=(const CountingIterator& other) const { return at != other.at; }
};

// Keys of SourceMap: a path's tokens joined by a byte no key can hold once NULs are refused.
std::string path_key(const std::vector<std::string>& path) {
  std::string key;
  for (const auto& token : path) key += token + '\x1f';
  return key;
}

// Builds the document from nlohmann's SAX events (its DOM callback parser rescans a parent on
// every object end: quadratic on a checklist of 100,000 checks), records where each value
// starts (by its path), and refuses what JSON parsers disagree on or what cannot be a path:
// duplicate keys (nlohmann keeps the last one) and strings holding a NUL (a path ends there).
class PositionedBuilder : public nlohmann::json::json_sax_t {
 public:
  PositionedBuilder(const std::string& text, const std::string& origin, const char*& reached)
      : text_(text), origin_(origin), reached_(reached) {
    source_.set_text(text);
  }

  nlohmann::json take_value() { return std::move(root_); }
  std::vector<std::string> take_errors() {
    if (dropped_ > 0)
      errors_.push_back(origin_ + ": and " + std::to_string(dropped_) +
                        " more problems like these; fix the ones above and validate again");
    return std::move(errors_);
  }
  SourceMap take_source() { return std::move(source_); }

  bool null() override { return scalar(nullptr, start()); }
  bool boolean(bool v) override { return scalar(v, start()); }
  bool number_integer(number_integer_t v) override { return scalar(v, start()); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v, start()); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(v, start()); }
  bool string(string_t& v) override {
    size_t at = start();
    refuse_nul(v, at);
    return scalar(std::move(v), at);
  }
  bool binary(binary_t&) override { return false; }  // not produced by JSON text
  bool start_object(std::size_t) override {
    return begin_container(nlohmann::json::object(), false);
  }
  bool start_array(std::size_t) override { return begin_container(nlohmann::json::array(), true); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    size_t at = start();
    refuse_nul(key, at);
    auto [first, fresh] = frames_.back().keys.emplace(key, at);
    if (!fresh)
      add_error(origin_ + ":" + source_.line_col_at(at) + ": duplicate key '" + key + "'" +
                (path_.empty() ? std::string() : " in " + json_path(path_)) + " (first at " +
                source_.line_col_at(first->second) +
                "); JSON keeps only one of them, so the other would be silently "
                "ignored: remove or merge one");
    path_.push_back(key);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception&) override {
    return false;  // the caller parses again for nlohmann's positioned message
  }

 private:
  struct Frame {
    nlohmann::json* container;
    bool is_array;
    std::map<std::string, size_t> keys;  // key -> offset, to name the first of a duplicate
  };

  // Where the token of this event starts: between the previous event and it there are only
  // separators (the lexer has read at most one character past a number).
  size_t start() {
    size_t at = previous_;
    while (at < text_.size() && std::strchr(" \t\r\n,:", text_[at]) != nullptr) ++at;
    previous_ = static_cast<size_t>(reached_ - text_.data());
    return at;
  }

  // Places `value` at the current path; returns where it now lives.
  nlohmann::json* place(nlohmann::json value, size_t at) {
    nlohmann::json* slot = &root_;
    if (!frames_.empty()) {
      Frame& f = frames_.back();
      if (f.is_array) {
        path_.push_back(std::to_string(f.container->size()));
        f.container->push_back(std::move(value));
        slot = &f.container->back();
      } else {
        slot = &(*f.container)[path_.back()];
        *slot = std::move(value);
      }
    } else {
      root_ = std::move(value);
    }
    source_.add(path_, at);
    return slot;
  }

  // The value at path_ is complete: its key or index is no longer part of the path.
  void done_with_value() {
    if (!frames_.empty() && !path_.empty()) path_.pop_back();
  }

  bool scalar(nlohmann::json value, size_t at) {
    place(std::move(value), at);
    done_with_value();
    return true;
  }

  bool begin_container(nlohmann::json empty, bool is_array) {
    nlohmann::json* slot = place(std::move(empty), start());
    frames_.push_back({slot, is_array, {}});
    return true;
  }

  bool close() {
    start();
    frames_.pop_back();
    done_with_value();
    return true;
  }

  // A file with thousands of duplicate keys gets the first few reported, not thousands of lines.
  void add_error(std::string message) {
    if (errors_.size() < kMaxReported)
      errors_.push_back(std::move(message));
    else
      ++dropped_;
  }

  void refuse_nul(const std::string& s, size_t at) {
    if (s.find('\0') == std::string::npos) return;
    add_error(origin_ + ":" + source_.line_col_at(at) +
              (path_.empty() ? std::string() : ": " + json_path(path_)) +
              ": the string holds a NUL character (\\u0000), which no path, name or "
              "value can contain (a path would silently end there): remove it");
  }

  const std::string& text_;
  const std::string& origin_;
  const char*& reached_;
  nlohmann::json root_;
  SourceMap source_;
  std::vector<Frame> frames_;
  std::vector<std::string> path_;
  std::vector<std::string> errors_;
  size_t previous_ = 0;
  size_t dropped_ = 0;
  static constexpr size_t kMaxReported = 20;
};

}  // namespace

JsonParseOutcome parse_json_text(const std::string& text, const std::string& origin) {
  JsonParseOutcome out;
  if (auto at = too_deep_at(text)) {
    out.errors.push_back(origin + ":" + line_col(text, *at) +
                         ": invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                         " levels; a checklist needs a handful, so this is not one");
    return out;
  }
  const char* reached = text.data();
  PositionedBuilder builder(text, origin, reached);
  if (nlohmann::json::sax_parse(CountingIterator{text.data(), &reached},
                                CountingIterator{text.data() + text.size(), &reached}, &builder)) {
    out.errors = builder.take_errors();
    if (out.errors.empty()) {
      out.value = builder.take_value();
      out.source = builder.take_source();
    }
    return out;
  }
  // Invalid JSON: nlohmann's exception says where and what was expected.
  try {
    auto unused = nlohmann::json::parse(text);
    (void)unused;
    out.errors = {origin + ": invalid JSON"};  // not reached: the SAX parse failed
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t offset = e.byte == 0 ? 0 : std::min(text.size(), static_cast<size_t>(e.byte - 1));
    std::string what = e.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] parse error at line..";
    // keep only the part after the last ": " which says what was expected.
    auto colon = what.find(": syntax error");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    out.errors = {origin + ":" + line_col(text, offset) + ": invalid JSON: " + what};
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e999) is an out_of_range that carries no position;
    // parse again with a SAX handler that is told where.
    ErrorPosition where;
    nlohmann::json::sax_parse(text, &where);
    std::string what = where.token.empty() ? std::string(e.what()) : where.token;
    out.errors = {origin + ":" + line_col(text, where.offset) + ": invalid JSON: the number " +
                  what + " is out of range (larger than a double can hold); write it smaller"};
  }
  return out;
}

void SourceMap::add(const std::vector<std::string>& path, size_t offset) {
  offsets_.emplace(path_key(path), offset);
}

void SourceMap::set_text(const std::string& text) {
  text_ = text;
  line_starts_ = {0};
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts_.push_back(i + 1);
}

std::string SourceMap::line_col(const std::vector<std::string>& path) const {
  for (size_t n = path.size() + 1; n-- > 0;) {
    auto it = offsets_.find(path_key({path.begin(), path.begin() + static_cast<ptrdiff_t>(n)}));
    if (it != offsets_.end()) return line_col_at(it->second);
  }
  return {};
}

std::string SourceMap::line_col_at(size_t offset) const {
  if (line_starts_.empty()) return {};
  auto line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t number = static_cast<size_t>(line - line_starts_.begin());  // 1-based
  return std::to_string(number) + ":" + std::to_string(column_of(text_, *(line - 1), offset));
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

std::optional<std::string> read_stdin_text(std::string& error) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "<stdin>: cannot read the checklist: " + sdk::errno_text(errno);
      return std::nullopt;
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxConfigFile)) {
      error = "<stdin>: the checklist is larger than 64 MiB; checklists are limited to that";
      return std::nullopt;
    }
  }
}

JsonParseOutcome parse_json_file(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    JsonParseOutcome out;
    out.errors.push_back(error);
    return out;
  }
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
