#include "dump_inspect.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>

namespace backup_doctor::pg {

std::string_view format_name(DumpFormat f) {
  switch (f) {
    case DumpFormat::custom:
      return "custom";
    case DumpFormat::tar:
      return "tar";
    case DumpFormat::directory:
      return "directory";
    case DumpFormat::plain:
      return "plain";
    case DumpFormat::unknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

ArchivePtr open_raw(const std::filesystem::path& path, std::string& error) {
  ArchivePtr a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    error = archive_error_string(a.get()) ? archive_error_string(a.get()) : "cannot open";
    return ArchivePtr(nullptr, &archive_read_free);
  }
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    error = rc == ARCHIVE_EOF
                ? "the file is empty"
                : (archive_error_string(a.get()) ? archive_error_string(a.get()) : "unreadable");
    return ArchivePtr(nullptr, &archive_read_free);
  }
  return a;
}

std::string compression_of(const unsigned char* b, size_t n) {
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "gzip";
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return "zstd";
  if (n >= 6 && std::memcmp(b,
                            "\xfd"
                            "7zXZ\0",
                            6) == 0)
    return "xz";
  if (n >= 3 && std::memcmp(b, "BZh", 3) == 0) return "bzip2";
  if (n >= 4 && b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18) return "lz4";
  return "";
}

DumpFormat format_of(const unsigned char* b, size_t n) {
  if (n >= 5 && std::memcmp(b, "PGDMP", 5) == 0) return DumpFormat::custom;
  if (n >= 262 && std::memcmp(b + 257, "ustar", 5) == 0) return DumpFormat::tar;
  std::string_view s(reinterpret_cast<const char*>(b), n);
  for (std::string_view start : {"--", "\\restrict", "SET ", "CREATE ", "\\connect", "\n--"})
    if (s.starts_with(start)) return DumpFormat::plain;
  return DumpFormat::unknown;
}

// Reads one possibly quoted, possibly schema-qualified name at the start of `s`:
// public.users, "My Schema"."My Table" -> "schema.name" without quotes.
std::string qualified_name(std::string_view s) {
  std::string out, part;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      ++i;
      while (i < s.size()) {
        if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"')
          part += '"', i += 2;
        else if (s[i] == '"') {
          ++i;
          break;
        } else
          part += s[i++];
      }
    } else if (s[i] == '.') {
      out += part + ".";
      part.clear();
      ++i;
    } else if (s[i] == ' ' || s[i] == '(' || s[i] == ';') {
      break;
    } else {
      part += s[i++];
    }
  }
  return out + part;
}

}  // namespace

DetectedFormat detect_format(const std::filesystem::path& path) {
  DetectedFormat d;
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    d.problem = "does not exist";
    return d;
  }
  if (std::filesystem::is_directory(st)) {
    if (std::filesystem::exists(path / "toc.dat", ec))
      d.format = DumpFormat::directory;
    else
      d.problem = "is a directory without toc.dat (not a directory-format dump)";
    return d;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    d.problem = std::string("cannot be opened: ") + std::strerror(errno);
    return d;
  }
  unsigned char head[512] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  size_t n = static_cast<size_t>(in.gcount());
  if (n == 0) {
    d.problem = "is empty";
    return d;
  }
  d.compression = compression_of(head, n);
  if (d.compression.empty()) {
    d.format = format_of(head, n);
    return d;
  }
  // Compressed: look at what is inside.
  std::string error;
  ArchivePtr a = open_raw(path, error);
  if (!a) {
    d.damaged = error;
    return d;
  }
  unsigned char inner[512] = {};
  la_ssize_t got = archive_read_data(a.get(), inner, sizeof inner);
  if (got <= 0) {
    // libarchive decompresses in large blocks: a short, cut-off stream fails right here.
    d.damaged = archive_error_string(a.get()) ? archive_error_string(a.get()) : "no data";
    return d;
  }
  d.format = format_of(inner, static_cast<size_t>(got));
  return d;
}

TocInfo parse_toc_listing(std::string_view listing) {
  TocInfo t;
  size_t pos = 0;
  auto header = [](std::string_view line, std::string_view key) -> std::optional<std::string> {
    if (!line.starts_with(key)) return std::nullopt;
    std::string v(line.substr(key.size()));
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v;
  };
  static const std::regex entry(R"(^(\d+); (\d+) (\d+) (.*)$)");
  while (pos < listing.size()) {
    size_t end = listing.find('\n', pos);
    if (end == std::string_view::npos) end = listing.size();
    std::string_view line = listing.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with(";")) {
      if (auto v = header(line, ";     TOC Entries: "))
        t.toc_entries = std::atoll(v->c_str());
      else if (auto v2 = header(line, ";     dbname: "))
        t.dbname = *v2;
      else if (auto v3 = header(line, ";     Format: "))
        t.format = *v3;
      else if (auto v4 = header(line, ";     Dumped from database version: "))
        t.dumped_from = *v4;
      else if (auto v5 = header(line, ";     Dumped by pg_dump version: "))
        t.dumped_by = *v5;
      else if (auto v6 = header(line, "; Archive created at "))
        t.created = *v6;
      continue;
    }
    std::string l(line);
    std::smatch m;
    if (!std::regex_match(l, m, entry)) continue;
    ++t.entry_lines;
    std::string rest = m[4];
    bool data = rest.starts_with("TABLE DATA ");
    if (!data && !rest.starts_with("TABLE ")) continue;
    rest = rest.substr(data ? 11 : 6);
    // "schema name owner"; the name may contain spaces, schema and owner are single tokens.
    size_t first = rest.find(' ');
    size_t last = rest.rfind(' ');
    if (first == std::string::npos) continue;
    std::string schema = rest.substr(0, first);
    std::string name =
        last > first ? rest.substr(first + 1, last - first - 1) : rest.substr(first + 1);
    (data ? t.table_data : t.tables).insert(schema + "." + name);
  }
  return t;
}

PlainScan scan_plain(const std::filesystem::path& path, const std::function<bool()>& cancelled) {
  PlainScan s;
  std::string error;
  ArchivePtr a = open_raw(path, error);
  if (!a) {
    s.error = error;
    return s;
  }
  std::string carry;
  bool in_copy = false;
  auto line = [&](std::string_view l) {
    if (in_copy) {
      if (l == "\\.") in_copy = false;
      return;
    }
    if (l.empty()) return;
    switch (l[0]) {
      case '-':
        if (l == "-- PostgreSQL database dump complete")
          s.complete = true;
        else if (l == "-- PostgreSQL database cluster dump complete")
          s.complete = s.cluster_dump = true;
        else if (l.starts_with("-- Dumped from database version "))
          s.dumped_from = std::string(l.substr(32));
        else if (l.starts_with("-- Dumped by pg_dump version "))
          s.dumped_by = std::string(l.substr(29));
        else if (l == "-- PostgreSQL database cluster dump")
          s.cluster_dump = true;
        break;
      case 'C':
        if (l.starts_with("COPY ")) {
          s.table_data.insert(qualified_name(l.substr(5)));
          in_copy = l.ends_with("FROM stdin;");
        } else if (l.starts_with("CREATE TABLE ")) {
          s.tables.insert(qualified_name(l.substr(13)));
        } else if (l.starts_with("CREATE UNLOGGED TABLE ")) {
          s.tables.insert(qualified_name(l.substr(22)));
        } else if (l.starts_with("CREATE DATABASE ")) {
          s.has_create_database = true;
        }
        break;
      case 'I':
        // --inserts dumps carry their data as INSERT statements.
        if (l.starts_with("INSERT INTO ")) s.table_data.insert(qualified_name(l.substr(12)));
        break;
      case '\\':
        if (l.starts_with("\\connect")) s.has_connect = true;
        break;
      default:
        break;
    }
  };
  std::vector<char> buf(1 << 18);
  size_t chunks = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      s.error = archive_error_string(a.get()) ? archive_error_string(a.get()) : "read error";
      break;
    }
    s.bytes += static_cast<unsigned long long>(n);
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    size_t pos = 0;
    while (pos < chunk.size()) {
      size_t nl = chunk.find('\n', pos);
      if (nl == std::string_view::npos) {
        carry.append(chunk.substr(pos));
        break;
      }
      if (!carry.empty()) {
        carry.append(chunk.substr(pos, nl - pos));
        line(carry);
        carry.clear();
      } else {
        line(chunk.substr(pos, nl - pos));
      }
      pos = nl + 1;
    }
    // Very long lines (COPY data) only matter for their first bytes.
    if (carry.size() > (1 << 20)) carry.resize(1 << 10);
    if ((++chunks & 63) == 0 && cancelled && cancelled()) {
      s.cancelled = true;
      break;
    }
  }
  if (!carry.empty()) line(carry);
  return s;
}

std::string decompress_to(const std::filesystem::path& src, const std::filesystem::path& dst,
                          const std::function<bool()>& cancelled) {
  std::string error;
  ArchivePtr a = open_raw(src, error);
  if (!a) return error;
  std::ofstream out(dst, std::ios::binary | std::ios::trunc);
  if (!out) return "cannot write " + dst.string();
  std::vector<char> buf(1 << 18);
  size_t chunks = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) return archive_error_string(a.get()) ? archive_error_string(a.get()) : "read error";
    out.write(buf.data(), n);
    if (!out) return "cannot write " + dst.string();
    if ((++chunks & 63) == 0 && cancelled && cancelled()) return "cancelled";
  }
  out.close();
  return out ? "" : "cannot write " + dst.string();
}

std::string unquote_ident(std::string_view s) {
  return qualified_name(s);
}

bool table_matches(const std::set<std::string>& present, const std::string& expected) {
  std::string want = qualified_name(expected);
  if (want.find('.') != std::string::npos) return present.count(want) > 0;
  for (const auto& p : present) {
    auto dot = p.rfind('.');
    // Names can contain dots; compare the part after the schema.
    auto first = p.find('.');
    if (first != std::string::npos && p.substr(first + 1) == want) return true;
    if (dot != std::string::npos && p.substr(dot + 1) == want) return true;
  }
  return false;
}

}  // namespace backup_doctor::pg
