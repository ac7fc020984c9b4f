// The compression layer of a scan: turns the file's chunks into the uncompressed stream.
// gzip goes through ISA-L (gzip_decoder.cpp), xz through liblzma (xz_decoder.cpp), bzip2 through
// libbz2 (bzip2_decoder.cpp); everything else through libarchive's filters
// (libarchive_decoder.cpp).
#pragma once

#include "chunk_reader.hpp"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace backup_doctor::archive {

// Where and how an archive is broken. Offsets are bytes from the start of the file
// (compressed) or of the decompressed stream (uncompressed).
struct Damage {
  // truncated, corrupt_data, checksum_mismatch, bad_header, read_error (compression layer);
  // tar_header, tar_truncated, format (archive layer).
  std::string kind;
  std::string message;
  uint64_t compressed_offset = 0;  // where it was detected
  // For damage found in the decompressed stream: the compressed bytes that produced the piece
  // of stream holding it (deflate does not map single bytes back).
  std::optional<uint64_t> compressed_range_start;
  std::optional<uint64_t> uncompressed_offset;
  // gzip: the member the damage is in (index from 0, compressed and uncompressed start).
  std::optional<uint64_t> member_index, member_offset, member_uncompressed_offset;

  nlohmann::json to_json() const;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // The next piece of the decompressed stream, valid until the next call. Empty at the end of
  // the stream or when damage was found (then damage() is set).
  virtual std::span<const uint8_t> next() = 0;
  virtual const std::optional<Damage>& damage() const = 0;
  // Compressed bytes consumed so far.
  virtual uint64_t compressed_position() const = 0;
  // "gzip", "zstd", "xz", "bzip2", "none", ...
  virtual std::string compression() const = 0;
  // Facts about the compression layer for the report (gzip members, trailing bytes, ...).
  virtual nlohmann::json details() const { return nlohmann::json::object(); }
  // Uncompressed offsets at which new gzip members started since the last call (in order);
  // lets the walker tell which entries lie before a damaged member.
  virtual void take_member_starts(std::vector<uint64_t>& out) { (void)out; }
  // Something odd but harmless (trailing garbage after the last gzip member, ...).
  virtual std::optional<std::string> warning() const { return std::nullopt; }
  // On damage, next() hands out what the compression's own tool (`gzip -d`, `xz -d`,
  // `bzip2 -d`), through which GNU tar reads, writes before it fails, so that the entries
  // counted before the damage are the ones `tar -t` lists. When it may have handed out less
  // (libarchive's filters drop the block they were decoding), why; nullopt when not.
  virtual std::optional<std::string> lower_bound_reason() const { return std::nullopt; }
  // A compressed offset at or before every bit that uncompressed byte `offset` was decoded
  // from; nullopt when the decoder cannot tell (then: its position before the call that
  // returned that byte, which is right when it holds no decoded output back).
  virtual std::optional<uint64_t> decoded_from(uint64_t offset) const {
    (void)offset;
    return std::nullopt;
  }
  // The same for that byte and the earlier output it may copy: where corruption that first
  // shows at `offset` can start. nullopt when the decoder cannot tell (the garbage's cause is
  // then not located).
  virtual std::optional<uint64_t> earliest_cause(uint64_t offset) const {
    (void)offset;
    return std::nullopt;
  }
};

enum class GzipEngine { isal, libarchive };

// Chooses the decoder from the first bytes of the file (gzip magic → ISA-L unless `engine`
// says libarchive). Pulls the first chunk from `reader`.
std::unique_ptr<Decoder> make_decoder(ChunkReader& reader, GzipEngine engine,
                                      size_t output_chunk_size);

std::unique_ptr<Decoder> make_gzip_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                           size_t output_chunk_size);
std::unique_ptr<Decoder> make_xz_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                         size_t output_chunk_size);
std::unique_ptr<Decoder> make_bzip2_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                            size_t output_chunk_size);
std::unique_ptr<Decoder> make_libarchive_decoder(ChunkReader& reader,
                                                 std::span<const uint8_t> first);

}  // namespace backup_doctor::archive
