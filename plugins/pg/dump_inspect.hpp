// What a dump file is and whether it is whole: format detection, pg_restore's table of
// contents, and a single streaming pass over plain SQL dumps (compressed or not).
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>

namespace backup_doctor::pg {

enum class DumpFormat { custom, tar, directory, plain, unknown };
std::string_view format_name(DumpFormat f);

struct DetectedFormat {
  DumpFormat format = DumpFormat::unknown;
  std::string compression;  // for plain dumps: "", "gzip", "zstd", "xz", "bzip2", "lz4"
  std::string problem;      // could not read the path
  std::string damaged;      // compressed, but the stream cannot be decompressed (why)
};

// Looks at the first bytes (or, for a directory, at toc.dat).
DetectedFormat detect_format(const std::filesystem::path& path);

struct TocInfo {
  long long toc_entries = -1;  // from the "; TOC Entries:" header
  std::string dbname, format, dumped_from, dumped_by, created;
  std::set<std::string> tables;      // "schema.name" of TABLE entries
  std::set<std::string> table_data;  // "schema.name" of TABLE DATA entries
  size_t entry_lines = 0;
};

// Parses `pg_restore --list` output.
TocInfo parse_toc_listing(std::string_view listing);

struct PlainScan {
  bool complete = false;  // ends with pg_dump's (or pg_dumpall's) completion trailer
  bool cluster_dump = false;
  bool has_create_database = false;  // made with --create, or by pg_dumpall
  bool has_connect = false;          // contains \connect
  std::string dumped_from, dumped_by;
  std::set<std::string> tables;      // CREATE TABLE schema.name
  std::set<std::string> table_data;  // COPY schema.name
  unsigned long long bytes = 0;      // uncompressed
  std::string error;                 // read or decompression error (e.g. truncated gzip)
  bool cancelled = false;
};

// Streams the whole file once (libarchive, so gzip/zstd/xz/bzip2/lz4 are read transparently).
PlainScan scan_plain(const std::filesystem::path& path, const std::function<bool()>& cancelled);

// Writes the decompressed content of `src` to `dst`; returns an error text or "".
std::string decompress_to(const std::filesystem::path& src, const std::filesystem::path& dst,
                          const std::function<bool()>& cancelled);

// Strips PostgreSQL identifier quoting: "My Table" -> My Table.
std::string unquote_ident(std::string_view s);

// Does `expected` ("users" or "public.users") name one of `present` ("schema.name")?
bool table_matches(const std::set<std::string>& present, const std::string& expected);

}  // namespace backup_doctor::pg
