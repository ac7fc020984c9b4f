// What a dump file is and whether it is whole: format detection, pg_restore's table of
// contents, and a single streaming pass over plain SQL dumps (compressed or not).
#pragma once

#include "dump_source.hpp"
#include "psql_lexer.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct archive;

namespace backup_doctor::pg {

enum class DumpFormat { custom, tar, directory, plain, unknown };
std::string_view format_name(DumpFormat f);

struct DetectedFormat {
  DumpFormat format = DumpFormat::unknown;
  std::string compression;  // for plain dumps: "", "gzip", "zstd", "xz", "bzip2", "lz4"
  std::string problem;      // could not read the path
  std::string damaged;      // compressed, but the stream cannot be decompressed (why)
  std::string foreign;      // a directory dump's entry that is not a regular file ("x, a FIFO")
};

// Looks at the first bytes (or, for a directory, at toc.dat).
DetectedFormat detect_format(const DumpSource& dump);
// The same for a path, opened with open_dump().
DetectedFormat detect_format(const std::filesystem::path& path);

// The content of a dump file, decompressed (gzip/zstd/xz/bzip2/lz4) as it is read. Reads the
// descriptor with pread, so several readers of one descriptor do not disturb each other.
class DumpReader {
 public:
  explicit DumpReader(int fd);
  ~DumpReader();
  DumpReader(const DumpReader&) = delete;
  DumpReader& operator=(const DumpReader&) = delete;

  bool ok() const { return archive_ != nullptr; }
  const std::string& error() const { return error_; }  // why it could not be opened or read
  // Up to `n` bytes; 0 at the end, -1 on a read or decompression error.
  long read(char* buf, size_t n);

 private:
  static long next_block(archive* a, void* self, const void** block);
  int fd_;
  long long offset_ = 0;
  std::vector<char> block_;
  archive* archive_ = nullptr;
  std::string error_;
};

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
  bool has_connect = false;   // contains pg_dump's own \connect lines (--create, pg_dumpall)
  bool has_restrict = false;  // contains pg_dump's own \restrict lines
  // The first statement that acts on the cluster (CREATE DATABASE with --create, pg_dumpall's
  // roles, or anything someone added), with its line.
  std::optional<ScriptFinding> cluster_statement;
  // The first thing psql would read as a meta-command, or read differently than SQL: pg_dump
  // never writes one, so someone or something changed the file.
  std::optional<ScriptFinding> psql_command;
  std::string dumped_from, dumped_by;
  std::set<std::string> tables;      // CREATE TABLE schema.name
  std::set<std::string> table_data;  // COPY schema.name
  unsigned long long bytes = 0;      // uncompressed
  std::string error;                 // read or decompression error (e.g. truncated gzip)
  bool cancelled = false;
};

// Streams the whole file once (libarchive, so gzip/zstd/xz/bzip2/lz4 are read transparently).
PlainScan scan_plain(const DumpSource& dump, const std::function<bool()>& cancelled);
PlainScan scan_plain(const std::filesystem::path& path, const std::function<bool()>& cancelled);

// Strips PostgreSQL identifier quoting: "My Table" -> My Table.
std::string unquote_ident(std::string_view s);

// Does `expected` ("users" or "public.users") name one of `present` ("schema.name")?
bool table_matches(const std::set<std::string>& present, const std::string& expected);

}  // namespace backup_doctor::pg
