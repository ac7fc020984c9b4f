#include "wal_segments.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace backup_doctor::pg {

namespace {

bool hex24(std::string_view s) {
  if (s.size() < 24) return false;
  for (size_t i = 0; i < 24; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(s[i])) ||
        std::islower(static_cast<unsigned char>(s[i])))
      return false;
  return true;
}

uint64_t hex(std::string_view s) {
  return std::stoull(std::string(s), nullptr, 16);
}

uint64_t segments_per_log(uint64_t segment_size) {
  return 0x100000000ull / segment_size;
}

}  // namespace

std::optional<WalName> parse_wal_name(std::string_view name, uint64_t segment_size) {
  if (!hex24(name)) return std::nullopt;
  std::string_view suffix = name.substr(24);
  static const std::string_view allowed[] = {"", ".gz", ".zst", ".lz4", ".bz2", ".xz", ".br"};
  bool ok = false;
  for (auto a : allowed) ok = ok || suffix == a;
  if (!ok) return std::nullopt;
  uint64_t log = hex(name.substr(8, 8)), seg = hex(name.substr(16, 8));
  uint64_t per_log = segments_per_log(segment_size);
  if (seg >= per_log) return std::nullopt;
  return WalName{static_cast<uint32_t>(hex(name.substr(0, 8))), log * per_log + seg};
}

std::string wal_file_name(uint32_t timeline, uint64_t segno, uint64_t segment_size) {
  uint64_t per_log = segments_per_log(segment_size);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<unsigned>(segno / per_log),
                static_cast<unsigned>(segno % per_log));
  return buf;
}

std::vector<WalRange> find_gaps(const std::set<uint64_t>& present, uint64_t from, uint64_t to) {
  std::vector<WalRange> gaps;
  if (from > to) return gaps;
  uint64_t expect = from;
  for (auto it = present.lower_bound(from); it != present.end() && *it <= to; ++it) {
    if (*it > expect) gaps.push_back({expect, *it - 1});
    expect = *it + 1;
  }
  if (expect <= to) gaps.push_back({expect, to});
  return gaps;
}

ArchiveScan scan_archive_dir(const std::filesystem::path& dir, uint64_t segment_size) {
  ArchiveScan scan;
  // Listed with lstat facts through a descriptor opened without following links: a segment
  // that is not a regular file (a link, a FIFO) does not count as archived.
  support::SafeOpened d = support::open_untrusted(dir.string(), support::Expect::directory);
  if (!d) {
    scan.error = d.message;
    return scan;
  }
  std::vector<support::DirEntry> entries;
  if (int err = support::list_directory(d.fd.get(), entries); err != 0) {
    scan.error = sdk::errno_text(err);
    return scan;
  }
  uint64_t newest = 0;
  bool any = false;
  for (const auto& e : entries) {
    const std::string& name = e.name;
    ++scan.files;
    if (auto w = parse_wal_name(name, segment_size)) {
      if (!S_ISREG(e.st.st_mode)) {
        scan.not_files.push_back(name + " (" + support::file_type_word(e.st.st_mode) + ")");
        continue;
      }
      scan.segments.insert(w->segno);
      if (!any || w->segno > newest || (w->segno == newest && w->timeline > scan.newest_timeline)) {
        newest = w->segno;
        scan.newest_timeline = w->timeline;
        any = true;
      }
      continue;
    }
    // Base backup labels: 000000010000000000000002.00000028.backup
    if (name.size() > 24 && name.ends_with(".backup") && hex24(name) && S_ISREG(e.st.st_mode)) {
      auto w = parse_wal_name(name.substr(0, 24), segment_size);
      if (w && (!scan.newest_backup_start || w->segno >= *scan.newest_backup_start)) {
        scan.newest_backup_start = w->segno;
        scan.newest_backup_label = name;
      }
    }
  }
  std::sort(scan.not_files.begin(), scan.not_files.end());
  return scan;
}

}  // namespace backup_doctor::pg
