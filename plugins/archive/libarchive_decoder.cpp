// Every compression other than gzip-through-ISA-L, xz and bzip2: libarchive's filters (zstd, lz4,
// compress, lzma, lzip, ... or none; gzip with gzip_engine libarchive) under its "raw" format,
// which hands out the decompressed stream as one entry. The tar walker then reads that stream like
// any other decoder's output. Only filters that decode in-process are enabled: none that would
// start a program.
#include "archive_filters.hpp"
#include "content_sniff.hpp"
#include "decoder.hpp"

#include <backup_doctor/system.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <algorithm>
#include <cstring>
#include <vector>

namespace backup_doctor::archive {
namespace {

class LibarchiveDecoder final : public Decoder {
 public:
  LibarchiveDecoder(ChunkReader& reader, std::span<const uint8_t> first)
      : reader_(reader), first_(first), a_(archive_read_new()) {
    std::string sniffed =
        sniff({reinterpret_cast<const char*>(first.data()), std::min<size_t>(first.size(), 64)})
            .compression;
    support::support_in_process_filters(a_);
    archive_read_support_format_raw(a_);
    if (archive_read_open(a_, this, nullptr, &LibarchiveDecoder::read_cb, nullptr) != ARCHIVE_OK) {
      fail();
    } else {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a_, &entry);
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail();
      compression_ = archive_filter_count(a_) > 1 ? archive_filter_name(a_, 0) : "none";
    }
    // A filter that fails on its first block is gone from the count: name it by its magic.
    if (damage_ && compression_ == "none" && !sniffed.empty()) compression_ = sniffed;
  }
  ~LibarchiveDecoder() override { archive_read_free(a_); }

  std::span<const uint8_t> next() override {
    if (done_) return {};
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = archive_read_data_block(a_, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) {
        done_ = true;
        return {};
      }
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        fail();
        return {};
      }
      if (size > 0) return {static_cast<const uint8_t*>(buf), size};
    }
  }

  const std::optional<Damage>& damage() const override { return damage_; }
  uint64_t compressed_position() const override { return reader_.consumed(); }
  std::string compression() const override { return compression_; }
  nlohmann::json details() const override { return {{"decoder", "libarchive"}}; }
  // A filter that fails returns nothing of the buffer it was filling (64 KiB for most, 128 KiB
  // for zstd), where the compression's own tool writes more of what it decoded first (zstd(1)
  // up to a zstd block more). Without compression nothing is held back.
  std::optional<std::string> lower_bound_reason() const override {
    if (compression_ == "none") return std::nullopt;
    return "libarchive's " + compression_ +
           " decoder drops the block it was decoding when the damage came, which `" + compression_ +
           " -d` writes out";
  }

 private:
  static la_ssize_t read_cb(struct archive*, void* self_ptr, const void** buffer) {
    auto* self = static_cast<LibarchiveDecoder*>(self_ptr);
    std::span<const uint8_t> chunk;
    if (!self->first_.empty()) {
      chunk = self->first_;
      self->first_ = {};
    } else {
      chunk = self->reader_.next();
    }
    if (!chunk.empty()) self->chunk_start_ = self->reader_.consumed() - chunk.size();
    *buffer = chunk.data();
    if (chunk.empty() && self->reader_.error() != 0) return -1;
    return static_cast<la_ssize_t>(chunk.size());
  }

  void fail() {
    done_ = true;
    Damage d;
    const char* text = archive_error_string(a_);
    std::string message = text ? text : "decompression failed";
    d.message = message;
    // libarchive does not say where inside the last chunk it stopped.
    d.compressed_offset = reader_.consumed();
    d.compressed_range_start = chunk_start_;
    if (reader_.error() != 0) {
      d.kind = "read_error";
      d.message = std::string("read error: ") + sdk::errno_text(reader_.error());
      d.compressed_offset = reader_.error_offset();
    } else if (message.find("runcated") != std::string::npos ||
               message.find("nexpected end") != std::string::npos ||
               message.find("premature end") != std::string::npos ||
               // liblzma's LZMA_BUF_ERROR: the input ended before the stream did
               message.find("No progress is possible") != std::string::npos) {
      d.kind = "truncated";
    } else {
      d.kind = "corrupt_data";
    }
    damage_ = std::move(d);
  }

  ChunkReader& reader_;
  std::span<const uint8_t> first_;
  struct archive* a_;
  bool done_ = false;
  uint64_t chunk_start_ = 0;
  std::string compression_ = "none";
  std::optional<Damage> damage_;
};

}  // namespace

std::unique_ptr<Decoder> make_libarchive_decoder(ChunkReader& reader,
                                                 std::span<const uint8_t> first) {
  return std::make_unique<LibarchiveDecoder>(reader, first);
}

}  // namespace backup_doctor::archive
