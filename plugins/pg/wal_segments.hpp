// WAL segment file names and the continuity of a WAL archive directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::pg {

inline constexpr uint64_t kDefaultWalSegmentSize = 16ull * 1024 * 1024;

struct WalName {
  uint32_t timeline = 0;
  uint64_t segno = 0;  // absolute segment number: log * segments_per_log + seg
};

// "000000010000000A000000FF" (optionally with a compression suffix: .gz .zst .lz4 .bz2 .xz .br)
// -> timeline 1, segment. Nothing for .partial, .history, .backup and other files.
std::optional<WalName> parse_wal_name(std::string_view file_name, uint64_t segment_size);
std::string wal_file_name(uint32_t timeline, uint64_t segno, uint64_t segment_size);

struct WalRange {
  uint64_t first = 0, last = 0;  // inclusive
  uint64_t count() const { return last - first + 1; }
};

// The ranges of segment numbers in [from, to] that are not in `present`.
std::vector<WalRange> find_gaps(const std::set<uint64_t>& present, uint64_t from, uint64_t to);

struct ArchiveScan {
  std::set<uint64_t> segments;                  // every complete segment, any timeline
  uint32_t newest_timeline = 0;                 // timeline of the newest segment
  std::optional<uint64_t> newest_backup_start;  // segment of the newest *.backup label
  std::string newest_backup_label;
  size_t files = 0;
  // Entries named like segments that are not regular files (links, FIFOs): not counted.
  std::vector<std::string> not_files;
  std::string error;  // the directory could not be read (or was a link another user made)
};

ArchiveScan scan_archive_dir(const std::filesystem::path& dir, uint64_t segment_size);

}  // namespace backup_doctor::pg
