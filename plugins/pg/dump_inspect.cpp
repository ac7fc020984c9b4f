#include "dump_inspect.hpp"

#include "archive_filters.hpp"
#include "script_guard.hpp"

#include <backup_doctor/system.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

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

constexpr size_t kBlock = 1 << 18;

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

// What follows the three numbers of a `pg_restore --list` entry line ("3354; 0 16385 TABLE DATA
// public users owner"), as the regex ^(\d+); (\d+) (\d+) (.*)$ would, read by hand: std::regex
// recurses once per character, and the names in a crafted dump make lines of any length.
std::optional<std::string_view> toc_entry_rest(std::string_view line) {
  for (std::string_view separator : {"; ", " ", " "}) {
    size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
    if (digits == 0 || line.substr(digits, separator.size()) != separator) return std::nullopt;
    line.remove_prefix(digits + separator.size());
  }
  if (line.find('\r') != std::string_view::npos) return std::nullopt;  // '.' is no line break
  return line;
}

}  // namespace

DumpReader::DumpReader(int fd) : fd_(fd), block_(kBlock) {
  archive* a = archive_read_new();
  // Never a filter that would run a decompressor (lrzip, grzip, lzop) over the dump.
  support::support_in_process_filters(a);
  archive_read_support_format_raw(a);
  if (archive_read_open(a, this, nullptr, &DumpReader::next_block, nullptr) != ARCHIVE_OK) {
    error_ = archive_error_string(a) ? archive_error_string(a) : "cannot be read";
    archive_read_free(a);
    return;
  }
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a, &entry);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    error_ = rc == ARCHIVE_EOF ? "the file is empty"
                               : (archive_error_string(a) ? archive_error_string(a) : "unreadable");
    archive_read_free(a);
    return;
  }
  archive_ = a;
}

DumpReader::~DumpReader() {
  if (archive_) archive_read_free(archive_);
}

long DumpReader::next_block(archive* a, void* self, const void** block) {
  auto* r = static_cast<DumpReader*>(self);
  ssize_t n;
  do {
    n = ::pread(r->fd_, r->block_.data(), r->block_.size(), static_cast<off_t>(r->offset_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "%s", sdk::errno_text(errno).c_str());
    return -1;
  }
  r->offset_ += n;
  *block = r->block_.data();
  return n;
}

long DumpReader::read(char* buf, size_t n) {
  if (!archive_) return -1;
  la_ssize_t got = archive_read_data(archive_, buf, n);
  if (got < 0)
    error_ = archive_error_string(archive_) ? archive_error_string(archive_) : "read error";
  return got < 0 ? -1 : static_cast<long>(got);
}

DetectedFormat detect_format(const DumpSource& dump) {
  DetectedFormat d;
  if (dump.is_directory()) {
    support::SafeOpened toc =
        support::open_untrusted_at(dump.fd.get(), dump.path, "toc.dat", support::Expect::regular);
    if (toc) {
      d.format = DumpFormat::directory;
      // pg_restore opens the files itself: pg_dump writes regular files only, and a link or a
      // FIFO in there would be followed, or block it.
      std::vector<support::DirEntry> entries;
      if (int err = support::list_directory(dump.fd.get(), entries); err != 0)
        d.problem = std::string("is a directory that cannot be listed: ") + sdk::errno_text(err);
      for (const auto& e : entries)
        if (!S_ISREG(e.st.st_mode) && d.foreign.empty())
          d.foreign = e.name + ", a " + support::file_type_word(e.st.st_mode);
    } else if (toc.refusal == support::Refusal::missing)
      d.problem = "is a directory without toc.dat (not a directory-format dump)";
    else
      d.problem = "is a directory whose toc.dat cannot be read: " + toc.message;
    return d;
  }
  unsigned char head[512] = {};
  ssize_t n = ::pread(dump.fd.get(), head, sizeof head, 0);
  if (n < 0) {
    d.problem = std::string("cannot be read: ") + sdk::errno_text(errno);
    return d;
  }
  if (n == 0) {
    d.problem = "is empty";
    return d;
  }
  d.compression = compression_of(head, static_cast<size_t>(n));
  if (d.compression.empty()) {
    d.format = format_of(head, static_cast<size_t>(n));
    return d;
  }
  // Compressed: look at what is inside.
  DumpReader reader(dump.fd.get());
  if (!reader.ok()) {
    d.damaged = reader.error();
    return d;
  }
  unsigned char inner[512] = {};
  long got = reader.read(reinterpret_cast<char*>(inner), sizeof inner);
  if (got <= 0) {
    // libarchive decompresses in large blocks: a short, cut-off stream fails right here.
    d.damaged = got < 0 ? reader.error() : "no data";
    return d;
  }
  d.format = format_of(inner, static_cast<size_t>(got));
  return d;
}

DetectedFormat detect_format(const std::filesystem::path& path) {
  OpenedDump opened = open_dump(path.string());
  if (opened.dump) return detect_format(*opened.dump);
  DetectedFormat d;
  d.problem = opened.refusal == support::Refusal::missing ? "does not exist" : opened.message;
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
    auto entry = toc_entry_rest(line);
    if (!entry) continue;
    ++t.entry_lines;
    std::string rest(*entry);
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

namespace {

// The facts a plain dump states about itself, from its lines: pg_dump's header and trailer
// comments, CREATE TABLE and COPY/INSERT lines. (What psql would run is the guard's business.)
struct PlainFacts {
  PlainScan& s;
  bool in_copy = false;

  void line(std::string_view l) {
    if (in_copy) {
      if (l == "\\." || l == "\\.\r") in_copy = false;
      return;
    }
    if (l.starts_with("-- "))
      comment(l);
    else if (l.starts_with("COPY ")) {
      s.table_data.insert(qualified_name(l.substr(5)));
      in_copy = l.ends_with("FROM stdin;");
    } else if (l.starts_with("CREATE TABLE "))
      s.tables.insert(qualified_name(l.substr(13)));
    else if (l.starts_with("CREATE UNLOGGED TABLE "))
      s.tables.insert(qualified_name(l.substr(22)));
    else if (l.starts_with("INSERT INTO "))  // --inserts dumps carry their data this way
      s.table_data.insert(qualified_name(l.substr(12)));
  }

  void comment(std::string_view l) {
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
  }
};

// Splits chunks into lines for PlainFacts; very long lines (COPY data) only matter for their
// first bytes.
struct LineSplitter {
  PlainFacts& facts;
  std::string carry;

  void take(std::string_view chunk) {
    size_t pos = 0;
    while (pos < chunk.size()) {
      size_t nl = chunk.find('\n', pos);
      if (nl == std::string_view::npos) {
        if (carry.size() < (1 << 10)) carry.append(chunk.substr(pos, (1 << 10) - carry.size()));
        return;
      }
      if (!carry.empty()) {
        carry.append(chunk.substr(pos, std::min<size_t>(nl - pos, 1 << 10)));
        facts.line(carry);
        carry.clear();
      } else {
        facts.line(chunk.substr(pos, nl - pos));
      }
      pos = nl + 1;
    }
  }
  void finish() {
    if (!carry.empty()) facts.line(carry);
  }
};

}  // namespace

PlainScan scan_plain(const DumpSource& dump, const std::function<bool()>& cancelled) {
  PlainScan s;
  DumpReader reader(dump.fd.get());
  if (!reader.ok()) {
    s.error = reader.error();
    return s;
  }
  PlainFacts facts{s};
  LineSplitter lines{facts, {}};
  ScriptGuard guard(ScriptGuard::Mode::scan);
  std::string ignored;  // the scan hands nothing on
  std::vector<char> buf(kBlock);
  for (size_t chunks = 1;; ++chunks) {
    long n = reader.read(buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      s.error = reader.error();
      break;
    }
    s.bytes += static_cast<unsigned long long>(n);
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    lines.take(chunk);
    guard.take(chunk, ignored);
    if ((chunks & 63) == 0 && cancelled && cancelled()) {
      s.cancelled = true;
      break;
    }
  }
  lines.finish();
  if (s.error.empty() && !s.cancelled) guard.finish(ignored);
  s.has_connect = guard.has_connect();
  s.has_restrict = guard.has_restrict();
  s.cluster_statement = guard.cluster_statement();
  if (guard.stop_kind() != ScriptGuard::StopKind::none) s.psql_command = guard.stop();
  return s;
}

PlainScan scan_plain(const std::filesystem::path& path, const std::function<bool()>& cancelled) {
  OpenedDump opened = open_dump(path.string());
  if (opened.dump && !opened.dump->is_directory()) return scan_plain(*opened.dump, cancelled);
  PlainScan s;
  s.error = opened.dump ? path.string() + " is a directory" : opened.message;
  return s;
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
