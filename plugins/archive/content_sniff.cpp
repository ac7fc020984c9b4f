#include "content_sniff.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>

namespace backup_doctor::archive {
namespace {

struct Magic {
  std::string_view bytes;
  const char* compression;
};
using namespace std::string_view_literals;
constexpr std::array kCompressionMagic = {
    Magic{"\x1f\x8b"sv, "gzip"},
    Magic{"BZh"sv, "bzip2"},
    Magic{"\xfd\x37\x7a\x58\x5a\x00"sv, "xz"},
    Magic{"\x28\xb5\x2f\xfd"sv, "zstd"},
    Magic{"\x04\x22\x4d\x18"sv, "lz4"},
    Magic{"\x1f\x9d"sv, "compress"},
    Magic{"\x5d\x00\x00"sv, "lzma"},
};

struct Kind {
  std::string_view bytes;
  size_t offset;
  const char* name;
};
// Things that turn up where a backup should be, for the message only.
constexpr std::array kOtherMagic = {
    Kind{"\xff\xd8\xff"sv, 0, "a JPEG image"},
    Kind{"\x89PNG"sv, 0, "a PNG image"},
    Kind{"%PDF"sv, 0, "a PDF document"},
    Kind{"PK\x03\x04"sv, 0, "a ZIP archive"},
    Kind{"\x7f"
         "ELF"sv,
         0, "an ELF program"},
    Kind{"PGDMP"sv, 0, "an uncompressed pg_dump custom-format archive"},
    Kind{"ustar"sv, 257, "an uncompressed tar archive"},
    Kind{"SQLite format 3"sv, 0, "an SQLite database"},
    Kind{"7z\xbc\xaf\x27\x1c"sv, 0, "a 7-Zip archive"},
};

bool starts_with_at(std::string_view head, std::string_view magic, size_t offset) {
  return head.size() >= offset + magic.size() && head.substr(offset, magic.size()) == magic;
}

bool mostly_text(std::string_view head) {
  size_t printable = 0;
  for (unsigned char c : head)
    if (std::isprint(c) || c == '\n' || c == '\r' || c == '\t' || c >= 0x80) ++printable;
  return !head.empty() && printable * 100 >= head.size() * 97;
}

std::string lower_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string compression_named(const std::string& path) {
  // `.Z` is compress, `.z` is old gzip: case matters for this one only.
  std::string name = std::filesystem::path(path).filename().string();
  if (ends_with(name, ".Z") || ends_with(name, ".taZ")) return "compress";
  std::string lower = lower_name(path);
  struct Suffix {
    std::string_view suffix;
    const char* compression;
  };
  static constexpr std::array kSuffixes = {
      Suffix{".gz", "gzip"},   Suffix{".tgz", "gzip"},   Suffix{".bz2", "bzip2"},
      Suffix{".tbz", "bzip2"}, Suffix{".tbz2", "bzip2"}, Suffix{".tb2", "bzip2"},
      Suffix{".xz", "xz"},     Suffix{".txz", "xz"},     Suffix{".zst", "zstd"},
      Suffix{".zstd", "zstd"}, Suffix{".tzst", "zstd"},  Suffix{".lz4", "lz4"},
      Suffix{".lzma", "lzma"}, Suffix{".tlz", "lzma"},
  };
  for (const auto& s : kSuffixes)
    if (ends_with(lower, s.suffix)) return s.compression;
  return "";
}

Sniffed sniff(std::string_view head) {
  Sniffed out;
  for (size_t i = 0; i < std::min<size_t>(head.size(), 16); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(head[i]));
    out.first_bytes += (i ? " " : "") + std::string(hex);
  }
  for (const auto& m : kCompressionMagic) {
    if (starts_with_at(head, m.bytes, 0)) {
      out.compression = m.compression;
      out.looks_like = std::string(m.compression) + " data";
      return out;
    }
  }
  for (const auto& k : kOtherMagic) {
    if (starts_with_at(head, k.bytes, k.offset)) {
      out.looks_like = k.name;
      return out;
    }
  }
  if (head.empty())
    out.looks_like = "nothing (the file is empty)";
  else if (std::all_of(head.begin(), head.end(), [](char c) { return c == 0; }))
    out.looks_like = "zero bytes only (as far as " + std::to_string(head.size()) + " bytes)";
  else if (mostly_text(head))
    out.looks_like = "text, not compressed data";
  else
    out.looks_like = "data of no format we know";
  return out;
}

}  // namespace backup_doctor::archive
