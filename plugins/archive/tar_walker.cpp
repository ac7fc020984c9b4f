#include "tar_walker.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>

namespace backup_doctor::archive {
namespace {

// Which compressed bytes produced a piece of the decompressed stream.
struct ChunkRecord {
  uint64_t start = 0, end = 0;  // uncompressed
  uint64_t compressed_start = 0, compressed_end = 0;
};

bool all_zero(const uint8_t* p, size_t n, size_t* first_nonzero) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) {
      *first_nonzero = i;
      return false;
    }
  return true;
}

// Far enough to find the next header after a damaged one in any real archive.
constexpr size_t kMaxResync = 16u << 20;
// Bytes kept of the pieces before the current one, for a resync that starts in them.
constexpr size_t kTail = 8u << 10;

// A 512-byte block whose checksum field matches its bytes (summed with the field as spaces,
// unsigned as POSIX says, or signed as some old tars did).
bool tar_header_valid(const uint8_t* block) {
  uint64_t stored = 0;
  bool digits = false;
  for (size_t i = 148; i < 156; ++i) {
    uint8_t c = block[i];
    if (c == ' ' || c == 0) {
      if (digits) break;
      continue;
    }
    if (c < '0' || c > '7') return false;
    stored = stored * 8 + static_cast<uint64_t>(c - '0');
    digits = true;
  }
  if (!digits) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < 512; ++i) {
    uint8_t c = i >= 148 && i < 156 ? ' ' : block[i];
    unsigned_sum += c;
    signed_sum += static_cast<int8_t>(c);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

class Walker {
 public:
  Walker(Decoder& decoder, const WalkOptions& options) : decoder_(decoder), options_(options) {}
  ~Walker() {
    if (a_) archive_read_free(a_);
  }

  WalkResult run() {
    a_ = new_reader(options_.format);
    is_tar_ = options_.format == ArchiveFormat::tar;
    if (is_tar_) skip_damaged_first_header();
    if (archive_read_open(a_, this, nullptr, &Walker::read_cb, nullptr) != ARCHIVE_OK) {
      opened_ = false;
      fatal(0);
      if (!result_.cancelled) drain();
      return finish();
    }
    walk();
    if (archive_format(a_) != 0)
      is_tar_ = (archive_format(a_) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
    if (options_.format == ArchiveFormat::tar) is_tar_ = true;
    if (result_.format.empty() && archive_format_name(a_) != nullptr)
      result_.format = archive_format_name(a_);
    if (!result_.cancelled) drain();
    return finish();
  }

 private:
  static struct archive* new_reader(ArchiveFormat format) {
    struct archive* a = archive_read_new();
    switch (format) {
      case ArchiveFormat::tar:
        archive_read_support_format_tar(a);
        break;
      case ArchiveFormat::raw:
        archive_read_support_format_raw(a);
        break;
      case ArchiveFormat::auto_detect:
        support_archive_formats(a);
        archive_read_support_format_raw(a);
        break;
    }
    return a;
  }

  // libarchive's format_all without mtree: an mtree spec holds no file content, and its
  // reader takes any text of one word per line for one (CSV, JSON lines, base64, hex dumps),
  // counting each line as an entry or failing on the first line it cannot parse.
  static void support_archive_formats(struct archive* a) {
    for (auto support : {archive_read_support_format_ar, archive_read_support_format_cpio,
                         archive_read_support_format_empty, archive_read_support_format_lha,
                         archive_read_support_format_tar, archive_read_support_format_xar,
                         archive_read_support_format_warc, archive_read_support_format_7zip,
                         archive_read_support_format_cab, archive_read_support_format_rar,
                         archive_read_support_format_rar5, archive_read_support_format_iso9660,
                         archive_read_support_format_zip})
      support(a);            // ARCHIVE_WARN when libarchive was built without it: then not offered
    archive_clear_error(a);  // as format_all does: a format left out is no error
  }

  static la_ssize_t read_cb(struct archive* a, void* self_ptr, const void** buffer) {
    auto* self = static_cast<Walker*>(self_ptr);
    return self->read(a, buffer);
  }

  la_ssize_t read(struct archive* a, const void** buffer) {
    if (options_.cancelled && options_.cancelled()) {
      result_.cancelled = true;
      archive_set_error(a, ECANCELED, "cancelled");
      return -1;
    }
    if (prefix_served_ < prefix_.size()) {
      *buffer = prefix_.data() + prefix_served_;
      la_ssize_t n = static_cast<la_ssize_t>(prefix_.size() - prefix_served_);
      prefix_served_ = prefix_.size();
      return n;
    }
    std::span<const uint8_t> piece = next_piece();
    *buffer = piece.data();
    if (piece.empty()) {
      if (decoder_.damage()) {
        source_failed_ = true;
        archive_set_error(a, EIO, "%s", decoder_.damage()->message.c_str());
        return -1;
      }
      source_eof_ = true;
      return 0;
    }
    return static_cast<la_ssize_t>(piece.size());
  }

  std::span<const uint8_t> next_piece() {
    keep_tail(last_piece_);
    uint64_t compressed_start =
        decoder_.decoded_from(result_.stream_bytes).value_or(decoder_.compressed_position());
    std::span<const uint8_t> piece = decoder_.next();
    decoder_.take_member_starts(boundaries_);
    ChunkRecord& rec = ring_[ring_count_++ % ring_.size()];
    rec = {result_.stream_bytes, result_.stream_bytes + piece.size(), compressed_start,
           decoder_.compressed_position()};
    last_piece_ = piece;
    last_piece_start_ = result_.stream_bytes;
    result_.stream_bytes += piece.size();
    if (options_.on_progress) options_.on_progress(decoder_.compressed_position());
    return piece;
  }

  void walk() {
    int64_t last_retry_position = -1;
    for (uint64_t n = 0;; ++n) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a_, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc == ARCHIVE_RETRY) {
        // A tar header failed its checksum. libarchive skips one block per retry, the way GNU
        // tar's "Skipping to next header" does, so later entries can still be found.
        int64_t position = archive_read_header_position(a_) + static_cast<int64_t>(skip_);
        if (position == last_retry_position) {  // no progress: give up
          fatal(static_cast<uint64_t>(position));
          return;
        }
        last_retry_position = position;
        if (!result_.damage) {
          Damage d;
          d.kind = "tar_header";
          d.message = "tar header at uncompressed offset " + std::to_string(position) +
                      " fails its checksum (" + error_text() + ")";
          locate(d, static_cast<uint64_t>(position));
          set_damage(std::move(d));
          result_.damaged_entry =
              "(unreadable header after " +
              (result_.complete.last_entry.empty() ? std::string("the start of the archive")
                                                   : "'" + result_.complete.last_entry + "'") +
              ")";
        }
        result_.resync_skipped_bytes += 512;
        continue;
      }
      if (rc == ARCHIVE_FATAL) {
        if (resume_after_damaged_header()) {
          last_retry_position = -1;
          continue;
        }
        fatal(libarchive_position());
        return;
      }
      if (rc == ARCHIVE_WARN) warn(error_text());
      last_header_ = static_cast<uint64_t>(archive_read_header_position(a_)) + skip_;
      if (result_.format.empty()) {
        const char* name = archive_format_name(a_);
        result_.format = name ? name : "";
      }
      is_tar_ = (archive_format(a_) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;

      const char* path = archive_entry_pathname(entry);
      if (path == nullptr) path = archive_entry_pathname_utf8(entry);
      std::string name = path ? path : "";
      EntryInfo info;
      info.size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
      info.has_mtime = archive_entry_mtime_is_set(entry) != 0;
      info.mtime = info.has_mtime ? static_cast<int64_t>(archive_entry_mtime(entry)) : 0;
      if (archive_entry_hardlink(entry) != nullptr)
        info.type = EntryType::hardlink;
      else
        switch (archive_entry_filetype(entry)) {
          case AE_IFREG:
            info.type = EntryType::file;
            break;
          case AE_IFDIR:
            info.type = EntryType::directory;
            break;
          case AE_IFLNK:
            info.type = EntryType::symlink;
            break;
          default:
            info.type = EntryType::other;
        }
      if (is_tar_ && info.type == EntryType::hardlink) info.size = 0;
      info.allocated = info.size;
      if (archive_entry_sparse_reset(entry) > 0) {
        info.allocated = 0;
        la_int64_t offset = 0, length = 0;
        while (archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK)
          info.allocated += length;
      }

      uint64_t data_start = libarchive_position();
      rc = archive_read_data_skip(a_);
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        result_.damaged_entry = name;
        result_.damaged_entry_size = info.size;
        uint64_t available =
            result_.stream_bytes > data_start ? result_.stream_bytes - data_start : 0;
        result_.damaged_entry_bytes_available =
            std::min<uint64_t>(available, static_cast<uint64_t>(std::max<int64_t>(0, info.size)));
        fatal(result_.stream_bytes);
        return;
      }
      uint64_t end = libarchive_position();
      if (!is_tar_) end = result_.stream_bytes;
      pass_boundaries(end);
      last_entry_end_ = end;
      switch (info.type) {
        case EntryType::file:
          ++result_.files;
          break;
        case EntryType::directory:
          ++result_.directories;
          break;
        case EntryType::symlink:
          ++result_.symlinks;
          break;
        case EntryType::hardlink:
          ++result_.hardlinks;
          break;
        case EntryType::other:
          ++result_.others;
          break;
      }
      uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(0, info.size));
      add(result_.complete, name, bytes);
      add(result_.damage ? result_.after_damage : result_.before_damage, name, bytes);
      if (options_.on_entry) {
        info.path = name;
        options_.on_entry(info);
      }
    }
  }

  // Where libarchive is in the uncompressed stream.
  uint64_t libarchive_position() const {
    return static_cast<uint64_t>(std::max<int64_t>(0, archive_filter_bytes(a_, 0))) + skip_;
  }

  // GNU tar skips a first header that fails its checksum ("Skipping to next header") and lists
  // the rest; libarchive refuses to start at all. So look at the first header here, and if it
  // is damaged, start libarchive at the next block that is a valid header.
  void skip_damaged_first_header() {
    auto fill = [&](size_t need) {
      while (prefix_.size() < need) {
        std::span<const uint8_t> piece = next_piece();
        if (piece.empty()) return false;
        prefix_.insert(prefix_.end(), piece.begin(), piece.end());
      }
      return true;
    };
    size_t first_nonzero = 0;
    if (!fill(512) || tar_header_valid(prefix_.data()) ||
        all_zero(prefix_.data(), 512, &first_nonzero))
      return;
    for (size_t at = 512; at + 512 <= kMaxResync && fill(at + 512); at += 512) {
      if (!tar_header_valid(prefix_.data() + at)) continue;
      Damage d;
      d.kind = "tar_header";
      d.message =
          "the first tar header fails its checksum; like GNU tar, the walk went on at "
          "the next valid header (" +
          std::to_string(at) + " bytes skipped)";
      locate(d, 0);
      if (decoder_.compression() == "none") {
        d.compressed_range_start = 0;
        d.compressed_offset = 148;  // the checksum field that does not match
      }
      set_damage(std::move(d));
      result_.damaged_entry = "(unreadable header at the start of the archive)";
      result_.resync_skipped_bytes += at;
      prefix_served_ = at;
      skip_ = at;
      return;
    }
  }

  // The last bytes of the pieces before the current one: the headers libarchive read last may
  // straddle two pieces, and the decoder's buffer for the earlier one is gone.
  void keep_tail(std::span<const uint8_t> piece) {
    if (piece.size() >= kTail) {
      tail_.assign(piece.end() - kTail, piece.end());
      return;
    }
    tail_.insert(tail_.end(), piece.begin(), piece.end());
    if (tail_.size() > kTail) tail_.erase(tail_.begin(), tail_.end() - kTail);
  }

  // libarchive gives up (ARCHIVE_FATAL) on a damaged header that follows an extension header
  // (pax 'x', GNU long name 'L' or 'K', which GNU tar writes for non-ASCII and long names, and
  // in pax format for most entries), where GNU tar skips to the next valid header as after any
  // damaged header. So do that here, with a new libarchive reader started at that header. False
  // when the stream ended or failed first, or nothing valid follows.
  bool resume_after_damaged_header() {
    if (source_failed_ || source_eof_ || !is_tar_ || result_.cancelled) return false;
    // The entry whose headers failed starts where the last one (or the last resume) ended.
    uint64_t bad = std::max(last_entry_end_, resumed_at_);
    if (!result_.damage) {
      Damage d;
      d.kind = "tar_header";
      d.message = "a tar header of the entry at uncompressed offset " + std::to_string(bad) +
                  " is damaged (" + error_text() +
                  "); like GNU tar, the walk went on at the next valid header";
      locate(d, bad);
      set_damage(std::move(d));
      result_.damaged_entry =
          "(unreadable header after " +
          (result_.complete.last_entry.empty() ? std::string("the start of the archive")
                                               : "'" + result_.complete.last_entry + "'") +
          ")";
    }
    // Past the entry's first header (the extension header that read fine).
    uint64_t from = bad + 512;
    std::vector<uint8_t> held = held_from(from);
    for (size_t at = 0; at <= kMaxResync; at += 512) {
      while (held.size() < at + 512) {
        uint64_t start = result_.stream_bytes;
        std::span<const uint8_t> piece = next_piece();
        if (piece.empty()) {
          (decoder_.damage() ? source_failed_ : source_eof_) = true;
          return false;
        }
        // Pieces from `from` on only (when libarchive stopped short of it).
        size_t skip =
            static_cast<size_t>(std::min<uint64_t>(piece.size(), from > start ? from - start : 0));
        held.insert(held.end(), piece.begin() + static_cast<ptrdiff_t>(skip), piece.end());
      }
      size_t ignored = 0;
      const uint8_t* block = held.data() + at;
      if (!tar_header_valid(block) && !all_zero(block, 512, &ignored)) continue;
      return restart_at(from + at, std::vector<uint8_t>(held.begin() + at, held.end()), bad);
    }
    return false;
  }

  // The stream from `from` on, as far as it is still held (the tail and the current piece),
  // copied; `from` moves up to the first whole block held when the stream before it is gone.
  std::vector<uint8_t> held_from(uint64_t& from) const {
    uint64_t held_start = last_piece_start_ - std::min<uint64_t>(tail_.size(), last_piece_start_);
    if (from < held_start) from = (held_start + 511) / 512 * 512;
    std::vector<uint8_t> out;
    if (from >= result_.stream_bytes) return out;
    for (uint64_t at = from; at < last_piece_start_; ++at)
      out.push_back(tail_[tail_.size() - (last_piece_start_ - at)]);
    uint64_t in_piece = std::max(from, last_piece_start_) - last_piece_start_;
    out.insert(out.end(), last_piece_.begin() + static_cast<ptrdiff_t>(in_piece),
               last_piece_.end());
    return out;
  }

  // A new libarchive reader whose stream starts at uncompressed offset `at` with `bytes`, then
  // the pieces that follow.
  bool restart_at(uint64_t at, std::vector<uint8_t> bytes, uint64_t bad) {
    archive_read_free(a_);
    a_ = new_reader(ArchiveFormat::tar);
    prefix_ = std::move(bytes);
    prefix_served_ = 0;
    skip_ = at;
    resumed_at_ = at;
    result_.resync_skipped_bytes += at - bad;
    return archive_read_open(a_, this, nullptr, &Walker::read_cb, nullptr) == ARCHIVE_OK;
  }

  static void add(EntryTally& t, const std::string& name, uint64_t bytes) {
    ++t.entries;
    t.bytes += bytes;
    t.last_entry = name;
  }

  // Gzip member boundaries the walk has passed: the entries wholly before a boundary are the
  // ones a CRC failure in that member cannot touch.
  void pass_boundaries(uint64_t entry_end) {
    while (boundary_index_ < boundaries_.size() && boundaries_[boundary_index_] < entry_end) {
      at_boundary_ = result_.complete;
      ++boundary_index_;
    }
    if (boundary_index_ > 4096) {
      boundaries_.erase(boundaries_.begin(), boundaries_.begin() + boundary_index_);
      boundary_index_ = 0;
    }
  }

  // The stream after the last entry: the tar end-of-archive block(s) and the zero padding of the
  // last record; anything non-zero there is data a plain `tar -x` never reads. Then the rest
  // of the compressed file, so its checksums are verified too.
  void drain() {
    // The decoder failed under libarchive, which may not have said so: some of its readers (ar,
    // mtree) take a failed read for the end of the archive. Its damage is the verdict all the same.
    if (source_failed_) {
      record_decoder_damage();
      return;
    }
    bool inspecting = is_tar_ && !result_.damage;
    uint64_t zero_from = last_entry_end_;
    std::optional<uint64_t> first_nonzero;
    auto inspect = [&](std::span<const uint8_t> piece, uint64_t start) {
      if (first_nonzero || !inspecting) return;
      uint64_t end = start + piece.size();
      if (end <= zero_from) return;
      uint64_t from = std::max(start, zero_from);
      size_t at = 0;
      if (!all_zero(piece.data() + (from - start), end - from, &at)) first_nonzero = from + at;
    };
    // libarchive has read up to some point of the last piece; what lies before that piece was
    // consumed as end-of-archive blocks, so it is zero.
    if (!last_piece_.empty()) inspect(last_piece_, last_piece_start_);
    for (;;) {
      uint64_t start = result_.stream_bytes;
      std::span<const uint8_t> piece = next_piece();
      if (piece.empty()) break;
      inspect(piece, start);
      if (options_.cancelled && options_.cancelled()) {
        result_.cancelled = true;
        return;
      }
    }
    if (inspecting) {
      uint64_t zero_end = first_nonzero.value_or(result_.stream_bytes);
      result_.end_marker = zero_end >= zero_from + 512;
      if (first_nonzero) {
        result_.data_after_end_offset = *first_nonzero;
        result_.data_after_end_bytes = result_.stream_bytes - *first_nonzero;
      }
    } else if (!is_tar_) {
      result_.end_marker = true;
    }
    if (decoder_.damage()) {
      pass_boundaries(UINT64_MAX);
      set_damage(*decoder_.damage());
    }
  }

  // The decoder's damage, once libarchive has read up to it (source_failed_).
  void record_decoder_damage() {
    if (decoder_damage_recorded_ || !decoder_.damage()) return;
    decoder_damage_recorded_ = true;
    pass_boundaries(UINT64_MAX);
    if (auto reason = decoder_.lower_bound_reason()) {
      result_.recoverable_is_lower_bound = true;
      result_.lower_bound_reason = *reason;
    }
    Damage d = *decoder_.damage();
    d.uncompressed_offset = result_.stream_bytes;
    set_damage(std::move(d));
  }

  void fatal(uint64_t uncompressed_position) {
    if (result_.cancelled) return;
    if (source_failed_) {
      record_decoder_damage();
      return;
    }
    // libarchive's raw reader refuses an empty stream, which is a valid one (`gzip </dev/null`).
    if (source_eof_ && result_.stream_bytes == 0 && options_.format == ArchiveFormat::raw) {
      result_.format = "raw";
      return;
    }
    Damage d;
    std::string text = error_text();
    if (source_eof_ && decoder_.compression() == "none") {
      d.kind = "truncated";
      d.message = "the file ends inside an entry (" + text + ")";
      uncompressed_position = result_.stream_bytes;
    } else if (source_eof_) {
      d.kind = "tar_truncated";
      d.message = "the archive stream ends inside an entry although its compression is complete (" +
                  text + ")";
      uncompressed_position = result_.stream_bytes;
    } else if (!opened_ && options_.format == ArchiveFormat::tar) {
      // GNU tar would skip to the next valid header; the entries after it are not counted here.
      d.kind = "tar_header";
      d.message = "the first tar header is damaged, or this is not a tar archive (" + text + ")";
      result_.after_damage_counted = false;
    } else if (result_.complete.entries == 0 && result_.format.empty()) {
      d.kind = "format";
      d.message = "not a readable archive: " + text;
    } else {
      d.kind = "tar_header";
      d.message = text;
    }
    locate(d, uncompressed_position);
    set_damage(std::move(d));
  }

  void locate(Damage& d, uint64_t uncompressed) {
    d.uncompressed_offset = uncompressed;
    size_t n = std::min(ring_count_, ring_.size());
    const ChunkRecord* best = nullptr;
    for (size_t i = 0; i < n; ++i) {
      const ChunkRecord& r = ring_[(ring_count_ - 1 - i) % ring_.size()];
      best = &r;
      if (r.start <= uncompressed && (uncompressed < r.end || r.start == r.end)) break;
    }
    if (best) {
      d.compressed_range_start = best->compressed_start;
      d.compressed_offset = best->compressed_end;
    }
  }

  void set_damage(Damage d) {
    if (result_.damage) {
      // Garbage from a corrupt deflate stream usually shows first as a bad tar header; the
      // decompressor's verdict that follows is the cause, the header the first symptom.
      bool compression_layer = d.member_index.has_value() || d.kind == "corrupt_data" ||
                               d.kind == "checksum_mismatch" || d.kind == "truncated";
      if (compression_layer && !result_.first_symptom &&
          (result_.damage->kind == "tar_header" || result_.damage->kind == "format")) {
        result_.first_symptom = std::move(result_.damage);
        result_.damage = std::move(d);
        if (result_.damage->member_uncompressed_offset) result_.verified = at_boundary_;
        place_first_symptom();
      }
      return;
    }
    // Should this turn out to be the first symptom of corrupt data, where its cause can be.
    if (d.uncompressed_offset)
      symptom_cause_ =
          decoder_.earliest_cause(std::min(last_header_.value_or(0), *d.uncompressed_offset));
    result_.damage = std::move(d);
    result_.before_damage = result_.complete;
    if (result_.damage->member_uncompressed_offset) result_.verified = at_boundary_;
  }

  // The garbage that first showed as a bad tar header started no later than that header and
  // after the last header that read fine (or is output copied from shortly before it), so the
  // corruption lies from the decoder's earliest cause of that stretch onwards, and within the
  // damaged gzip member.
  void place_first_symptom() {
    Damage& symptom = *result_.first_symptom;
    const Damage& cause = *result_.damage;
    if (!symptom_cause_) {
      symptom.compressed_range_start.reset();
      return;
    }
    uint64_t start = *symptom_cause_;
    if (cause.member_offset && cause.member_uncompressed_offset &&
        symptom.uncompressed_offset.value_or(0) >= *cause.member_uncompressed_offset)
      start = std::max(start, *cause.member_offset);
    symptom.compressed_range_start = start;
  }

  std::string error_text() const {
    const char* text = archive_error_string(a_);
    return text ? text : "libarchive error";
  }

  void warn(std::string text) {
    if (result_.warnings.size() < options_.max_warnings)
      result_.warnings.push_back(std::move(text));
  }

  WalkResult finish() {
    result_.is_tar = is_tar_;
    return std::move(result_);
  }

  Decoder& decoder_;
  const WalkOptions& options_;
  struct archive* a_ = nullptr;
  WalkResult result_;
  std::array<ChunkRecord, 64> ring_{};
  size_t ring_count_ = 0;
  std::span<const uint8_t> last_piece_;
  uint64_t last_piece_start_ = 0;
  uint64_t last_entry_end_ = 0;
  bool source_failed_ = false, source_eof_ = false, is_tar_ = false, opened_ = true;
  bool decoder_damage_recorded_ = false;
  std::vector<uint64_t> boundaries_;
  size_t boundary_index_ = 0;
  EntryTally at_boundary_;
  // The stream's first bytes, read before libarchive starts (to look at the first header), and
  // how far libarchive's view starts into the stream (past a damaged first header).
  std::vector<uint8_t> prefix_;
  size_t prefix_served_ = 0;
  uint64_t skip_ = 0;
  std::vector<uint8_t> tail_;  // see keep_tail()
  uint64_t resumed_at_ = 0;    // where the last resume_after_damaged_header() started libarchive
  std::optional<uint64_t> last_header_;    // uncompressed offset of the last header read fine
  std::optional<uint64_t> symptom_cause_;  // for the first damage, see place_first_symptom()
};

}  // namespace

namespace {
// Tar names are bytes, and pax headers hold them as UTF-8. libarchive converts them to the
// calling thread's locale, which in a program that never called setlocale is "C": any
// non-ASCII name would then be a warning. Walk in C.UTF-8 (this thread only), as GNU tar lists
// them whatever the locale.
class Utf8Locale {
 public:
  Utf8Locale() : utf8_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (utf8_) previous_ = uselocale(utf8_);
  }
  ~Utf8Locale() {
    if (!utf8_) return;
    uselocale(previous_);
    freelocale(utf8_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t utf8_;
  locale_t previous_ = static_cast<locale_t>(0);
};
}  // namespace

WalkResult walk_archive(Decoder& decoder, const WalkOptions& options) {
  Utf8Locale utf8;
  Walker walker(decoder, options);
  return walker.run();
}

}  // namespace backup_doctor::archive
