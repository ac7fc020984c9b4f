// The archive layer of a scan: libarchive reads the decompressed stream through a read
// callback (zero-copy: it gets the decoder's buffers) and walks every entry to its end, without
// extracting anything. Damage is located by entry: the last good one, how many entries and
// bytes come before it (and, after a damaged tar header, after it).
#pragma once

#include "decoder.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::archive {

enum class ArchiveFormat { auto_detect, tar, raw };

enum class EntryType { file, directory, symlink, hardlink, other };

struct EntryInfo {
  std::string_view path;  // as stored in the archive
  EntryType type = EntryType::file;
  int64_t size = 0;
  int64_t allocated = 0;  // bytes of data stored: less than size for sparse files
  int64_t mtime = 0;      // seconds since the epoch
  bool has_mtime = false;
};

struct WalkOptions {
  ArchiveFormat format = ArchiveFormat::auto_detect;
  // Called for every complete entry (header and data read to their end).
  std::function<void(const EntryInfo&)> on_entry;
  // Polled between pieces of the stream; true stops the walk (result.cancelled).
  std::function<bool()> cancelled;
  // Called after each piece of the stream with the compressed position.
  std::function<void(uint64_t compressed_position)> on_progress;
  size_t max_warnings = 20;
};

// Entry counts and sizes of a set of complete entries.
struct EntryTally {
  uint64_t entries = 0;
  uint64_t bytes = 0;  // sum of entry sizes
  std::string last_entry;
};

struct WalkResult {
  bool is_tar = false;
  std::string format;  // libarchive's name: "GNU tar format", "POSIX pax interchange format", "raw"
  uint64_t files = 0, directories = 0, symlinks = 0, hardlinks = 0, others = 0;
  EntryTally complete;                 // every complete entry
  EntryTally before_damage;            // complete entries before the first damage
  EntryTally after_damage;             // complete entries found again after a damaged tar header
  bool after_damage_counted = true;    // false when the very first header is damaged
  std::optional<EntryTally> verified;  // when the damage is in a gzip member: entries wholly
                                       // before that member (their bytes passed a CRC check)
  uint64_t stream_bytes = 0;           // decompressed bytes seen

  std::optional<Damage> damage;
  // The walk was cut short by a decoder that may have handed out less than the compression's
  // own tool writes (Decoder::lower_bound_reason, which says why): the entries counted are a
  // lower bound of what `tar -t` lists.
  bool recoverable_is_lower_bound = false;
  std::string lower_bound_reason;
  // When the compression layer turns out damaged after the tar layer already showed garbage:
  // that earlier tar-level damage, which says where the corruption first became visible. Its
  // compressed range starts where the corruption can have started (Decoder::earliest_cause),
  // and has no start when the decoder cannot tell.
  std::optional<Damage> first_symptom;
  std::string damaged_entry;  // the entry being read when the damage hit
  int64_t damaged_entry_size = -1;
  uint64_t damaged_entry_bytes_available = 0;
  uint64_t resync_skipped_bytes = 0;  // tar blocks skipped looking for the next valid header

  bool end_marker = false;                        // tar end-of-archive (zero) block present
  std::optional<uint64_t> data_after_end_offset;  // non-zero bytes after the end marker
  uint64_t data_after_end_bytes = 0;
  std::vector<std::string> warnings;
  bool cancelled = false;
};

WalkResult walk_archive(Decoder& decoder, const WalkOptions& options);

}  // namespace backup_doctor::archive
