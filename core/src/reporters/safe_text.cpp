#include "reporters/safe_text.hpp"

#include <cstdint>
#include <cstdio>

namespace backup_doctor {
namespace {

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 when it is not valid UTF-8
// (overlong forms, surrogates and values past U+10FFFF included).
size_t utf8_at(std::string_view text, size_t i, uint32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char c = b(0);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  if (len == 1) {
    cp = c;
    return 1;
  }
  cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static const uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Calls on_char(code point, its bytes) for each valid UTF-8 sequence of `text` and
// on_invalid(byte) for each byte that does not start one.
template <typename OnChar, typename OnInvalid>
void for_each_char(std::string_view text, OnChar on_char, OnInvalid on_invalid) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = utf8_at(text, i, cp);
    if (len == 0) {
      on_invalid(static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      on_char(cp, text.substr(i, len));
      i += len;
    }
  }
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

}  // namespace

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for_each_char(
      text,
      [&](uint32_t cp, std::string_view bytes) {
        if (cp == '\n' && keep_newlines) {
          out += '\n';
        } else if (cp == '\t') {
          out += ' ';
        } else if (cp < 0x20 || cp == 0x7F) {
          out += hex_byte(static_cast<unsigned char>(cp));
        } else if (cp >= 0x80 && cp <= 0x9F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out += buf;
        } else {
          out += bytes;
        }
      },
      [&](unsigned char byte) { out += hex_byte(byte); });
  return out;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_char(
      text, [&](uint32_t, std::string_view bytes) { out += bytes; },
      [&](unsigned char) { out += kReplacement; });
  return out;
}

std::string xml_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_char(
      text,
      [&](uint32_t cp, std::string_view bytes) {
        switch (cp) {
          case '&':
            out += "&amp;";
            break;
          case '<':
            out += "&lt;";
            break;
          case '>':
            out += "&gt;";
            break;
          case '"':
            out += "&quot;";
            break;
          case '\'':
            out += "&apos;";
            break;
          case '\n':
          case '\t':
          case '\r':
            out += static_cast<char>(cp);
            break;
          default:
            // What XML 1.0 forbids or discourages is dropped.
            if (!(cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0xFFFE ||
                  cp == 0xFFFF))
              out += bytes;
        }
      },
      [&](unsigned char) { out += kReplacement; });
  return out;
}

}  // namespace backup_doctor
