// bzip2 through libbz2 directly, handing out what `bzip2 -d` writes, which is what GNU tar
// reads from it (`tar -xjf` pipes through bzip2): stream after stream, trailing garbage after a
// complete stream ignored with a warning, and before damage exactly the bytes bzip2(1) wrote.
// bzip2(1) reads its output in pieces of 5000 bytes (BZ2_bzRead) and drops the piece it was
// filling when an error comes, so the bytes of a stream since its last multiple of 5000 are
// held back until the stream ends. libarchive's bzip2 filter dropped up to 64 KiB instead.
#include "decoder.hpp"

#include <backup_doctor/system.hpp>

#include <bzlib.h>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace backup_doctor::archive {
namespace {

// BZ2_bzRead's buffer in bzip2(1)'s uncompressStream().
constexpr uint64_t kBzip2ToolPiece = 5000;

class Bzip2Decoder final : public Decoder {
 public:
  Bzip2Decoder(ChunkReader& reader, std::span<const uint8_t> first, size_t out_size)
      : reader_(reader), out_(std::max<size_t>(out_size, 4 * kBzip2ToolPiece)) {
    set_input(first, 0);
  }
  ~Bzip2Decoder() override {
    if (in_stream_) BZ2_bzDecompressEnd(&strm_);
  }

  std::span<const uint8_t> next() override {
    if (done_) return {};
    // What was held back last time moves to the front; after it, room for more.
    std::memmove(out_.data(), out_.data() + handed_, filled_ - handed_);
    filled_ -= handed_;
    handed_ = 0;
    bool stream_end = false;
    while (filled_ < out_.size() && !pending_ && !stream_end && !trailing_) {
      if (strm_.avail_in == 0 && !eof_) load();
      if (!in_stream_ && !start_stream()) break;
      stream_end = decode();
    }
    // Within a stream, only whole 5000-byte pieces are sure to be written by bzip2(1).
    uint64_t release = filled_;
    if (!stream_end && (pending_ || filled_ == out_.size())) {
      uint64_t before = stream_out_ - filled_;  // bytes of this stream handed out earlier
      uint64_t aligned = stream_out_ / kBzip2ToolPiece * kBzip2ToolPiece;
      release = aligned > before ? aligned - before : 0;
    }
    if (stream_end) stream_out_ = 0;
    handed_ = static_cast<size_t>(release);
    if (handed_ > 0) return {out_.data(), handed_};
    done_ = true;
    damage_ = std::move(pending_);
    return {};
  }

  const std::optional<Damage>& damage() const override { return damage_; }
  uint64_t compressed_position() const override { return position(); }
  std::string compression() const override { return "bzip2"; }
  nlohmann::json details() const override {
    nlohmann::json j = {{"decoder", "libbz2"}, {"bzip2_streams", streams_}};
    if (garbage_offset_) {
      j["trailing_garbage_offset"] = *garbage_offset_;
      j["trailing_garbage_bytes"] = garbage_bytes_;
    }
    return j;
  }
  std::optional<std::string> warning() const override {
    if (!garbage_offset_) return std::nullopt;
    return std::to_string(garbage_bytes_) +
           " bytes of non-bzip2 data follow the last bzip2 stream (at offset " +
           std::to_string(*garbage_offset_) + "); bzip2 ignores them with a warning";
  }

 private:
  void set_input(std::span<const uint8_t> chunk, uint64_t base) {
    chunk_ = chunk;
    chunk_base_ = base;
    strm_.next_in = reinterpret_cast<char*>(const_cast<uint8_t*>(chunk.data()));
    strm_.avail_in = static_cast<unsigned>(chunk.size());
  }
  void load() {
    uint64_t base = reader_.consumed();
    std::span<const uint8_t> chunk = reader_.next();
    if (chunk.empty()) eof_ = true;
    set_input(chunk, base);
  }
  uint64_t position() const {
    return chunk_base_ +
           static_cast<uint64_t>(reinterpret_cast<const uint8_t*>(strm_.next_in) - chunk_.data());
  }

  // Starts the next stream, if there is more input. False at the end of the file (or on damage).
  bool start_stream() {
    if (strm_.avail_in == 0) return false;
    if (BZ2_bzDecompressInit(&strm_, 0, 0) != BZ_OK) {
      pending_ = make("corrupt_data", "cannot start the bzip2 decoder (out of memory)");
      return false;
    }
    in_stream_ = true;
    stream_offset_ = position();
    ++streams_;
    return true;
  }

  // One BZ2_bzDecompress call. True at the end of a stream.
  bool decode() {
    strm_.next_out = reinterpret_cast<char*>(out_.data() + filled_);
    strm_.avail_out = static_cast<unsigned>(out_.size() - filled_);
    unsigned in_before = strm_.avail_in;
    int rc = BZ2_bzDecompress(&strm_);
    size_t produced = out_.size() - filled_ - strm_.avail_out;
    filled_ += produced;
    stream_out_ += produced;
    if (rc == BZ_STREAM_END) {
      end_stream();
      return true;
    }
    if (rc == BZ_DATA_ERROR_MAGIC && streams_ > 1) {
      // Not another stream after a complete one: trailing garbage, as bzip2(1) sees it.
      --streams_;
      end_stream();
      trailing_ = true;
      garbage_offset_ = stream_offset_;
      skip_trailing();
      return false;
    }
    if (rc != BZ_OK) {
      fail(rc);
    } else if (eof_ && strm_.avail_in == 0 && produced == 0 && in_before == 0) {
      fail(BZ_UNEXPECTED_EOF);
    }
    return false;
  }

  // Counts the bytes from the garbage's start to the end of the file, reading them (for the
  // digest and the progress) without decoding.
  void skip_trailing() {
    garbage_bytes_ = chunk_base_ + chunk_.size() - *garbage_offset_;
    for (;;) {
      strm_.next_in += strm_.avail_in;
      strm_.avail_in = 0;
      if (eof_) return;
      load();
      garbage_bytes_ += chunk_.size();
    }
  }

  void end_stream() {
    BZ2_bzDecompressEnd(&strm_);
    in_stream_ = false;
  }

  Damage make(std::string kind, std::string message) const {
    Damage d;
    d.kind = std::move(kind);
    d.message = std::move(message);
    d.compressed_offset = position();
    return d;
  }

  void fail(int rc) {
    std::string where = "bzip2 stream " + std::to_string(streams_ > 0 ? streams_ - 1 : 0);
    if (reader_.error() != 0) {
      pending_ = make("read_error", std::string("read error: ") + sdk::errno_text(reader_.error()));
      pending_->compressed_offset = reader_.error_offset();
    } else if (rc == BZ_UNEXPECTED_EOF) {
      pending_ = make("truncated", "the file ends inside " + where + " (unexpected end of file)");
    } else if (rc == BZ_DATA_ERROR_MAGIC) {
      pending_ = make("bad_header", "invalid bzip2 header at the start of " + where);
    } else if (rc == BZ_MEM_ERROR) {
      pending_ = make("corrupt_data", "the bzip2 decoder ran out of memory in " + where);
    } else {
      // BZ_DATA_ERROR: a block whose CRC fails, or data that cannot be bzip2 at all.
      pending_ = make("corrupt_data", "data integrity error (CRC or invalid data) in " + where);
    }
  }

  ChunkReader& reader_;
  bz_stream strm_{};
  std::vector<uint8_t> out_;
  size_t filled_ = 0, handed_ = 0;  // bytes in out_; of them, handed out by the last next()
  uint64_t stream_out_ = 0;         // bytes the current stream has decoded so far
  std::span<const uint8_t> chunk_;
  uint64_t chunk_base_ = 0, stream_offset_ = 0, streams_ = 0;
  bool eof_ = false, done_ = false, in_stream_ = false, trailing_ = false;
  std::optional<uint64_t> garbage_offset_;
  uint64_t garbage_bytes_ = 0;
  std::optional<Damage> pending_, damage_;
};

}  // namespace

std::unique_ptr<Decoder> make_bzip2_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                            size_t output_chunk_size) {
  return std::make_unique<Bzip2Decoder>(reader, first, output_chunk_size);
}

}  // namespace backup_doctor::archive
