// xz through liblzma directly, as xz(1) decodes it: every byte liblzma produced before it found
// the damage is handed out first, then the damage is reported. GNU tar reads an .xz file through
// `xz -d`, which writes all of that before failing; libarchive's xz filter instead drops the
// block of up to 64 KiB it was filling when the error came, so the tar walk saw fewer entries
// than `tar -tJf` lists.
#include "decoder.hpp"

#include <backup_doctor/system.hpp>

#include <lzma.h>
#include <cstring>
#include <vector>

namespace backup_doctor::archive {
namespace {

class XzDecoder final : public Decoder {
 public:
  XzDecoder(ChunkReader& reader, std::span<const uint8_t> first, size_t out_size)
      : reader_(reader), out_(out_size) {
    // Concatenated streams and their null padding, as `xz -d` accepts them; no memory limit,
    // as neither xz(1) nor libarchive sets one by default.
    if (lzma_stream_decoder(&strm_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
      pending_ = make("corrupt_data", "cannot start the xz decoder (out of memory)");
      return;
    }
    set_input(first, 0);
  }
  ~XzDecoder() override { lzma_end(&strm_); }

  std::span<const uint8_t> next() override {
    if (done_) return {};
    strm_.next_out = out_.data();
    strm_.avail_out = out_.size();
    while (strm_.avail_out > 0 && !pending_ && !ended_) {
      if (strm_.avail_in == 0 && !eof_) load();
      size_t out_before = strm_.avail_out, in_before = strm_.avail_in;
      lzma_ret rc = lzma_code(&strm_, eof_ ? LZMA_FINISH : LZMA_RUN);
      if (rc == LZMA_STREAM_END) {
        ended_ = true;
      } else if (rc != LZMA_OK) {
        fail(rc);
      } else if (eof_ && strm_.avail_in == 0 && strm_.avail_out == out_before && in_before == 0) {
        fail(LZMA_BUF_ERROR);  // liblzma says so on the next call; no need to wait for it
      }
    }
    size_t written = out_.size() - strm_.avail_out;
    if (written > 0) return {out_.data(), written};
    done_ = true;
    damage_ = std::move(pending_);
    return {};
  }

  const std::optional<Damage>& damage() const override { return damage_; }
  uint64_t compressed_position() const override { return position(); }
  std::string compression() const override { return "xz"; }
  nlohmann::json details() const override { return {{"decoder", "liblzma"}}; }

 private:
  void set_input(std::span<const uint8_t> chunk, uint64_t base) {
    chunk_ = chunk;
    chunk_base_ = base;
    strm_.next_in = chunk.data();
    strm_.avail_in = chunk.size();
  }
  void load() {
    uint64_t base = reader_.consumed();
    std::span<const uint8_t> chunk = reader_.next();
    if (chunk.empty()) eof_ = true;
    set_input(chunk, base);
  }
  uint64_t position() const {
    return chunk_base_ + static_cast<uint64_t>(strm_.next_in - chunk_.data());
  }

  Damage make(std::string kind, std::string message) const {
    Damage d;
    d.kind = std::move(kind);
    d.message = std::move(message);
    d.compressed_offset = position();
    return d;
  }

  void fail(lzma_ret rc) {
    if (reader_.error() != 0) {
      pending_ = make("read_error", std::string("read error: ") + sdk::errno_text(reader_.error()));
      pending_->compressed_offset = reader_.error_offset();
      return;
    }
    switch (rc) {
      case LZMA_BUF_ERROR:
        pending_ =
            make("truncated", "the file ends inside the xz stream (unexpected end of input)");
        break;
      case LZMA_FORMAT_ERROR:
        pending_ = make("bad_header", "not in xz format (file format not recognized)");
        break;
      case LZMA_OPTIONS_ERROR:
        pending_ = make("bad_header", "unsupported xz options in a stream or block header");
        break;
      case LZMA_MEM_ERROR:
        pending_ = make("corrupt_data", "the xz decoder ran out of memory");
        break;
      default:
        // LZMA_DATA_ERROR: invalid LZMA2 data, a block or index that does not add up, a check
        // (CRC or SHA-256 of the block's data) that fails, or bytes after a stream that are
        // neither null padding nor another stream.
        pending_ = make("corrupt_data", "xz data is corrupt (compressed data is corrupt)");
    }
  }

  ChunkReader& reader_;
  lzma_stream strm_ = LZMA_STREAM_INIT;
  std::vector<uint8_t> out_;
  std::span<const uint8_t> chunk_;
  uint64_t chunk_base_ = 0;
  bool eof_ = false, ended_ = false, done_ = false;
  std::optional<Damage> pending_, damage_;
};

}  // namespace

std::unique_ptr<Decoder> make_xz_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                         size_t output_chunk_size) {
  return std::make_unique<XzDecoder>(reader, first, output_chunk_size);
}

}  // namespace backup_doctor::archive
