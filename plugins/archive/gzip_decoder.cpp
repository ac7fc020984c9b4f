// gzip through ISA-L's inflate (several times faster than zlib), member after member: pigz,
// `cat a.gz b.gz` and bgzip-style files are sequences of complete gzip members, and every
// member's CRC-32 and length are checked by isal_inflate itself (crc_flag = ISAL_GZIP).
#include "decoder.hpp"

#include <backup_doctor/system.hpp>

#include <isa-l/igzip_lib.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace backup_doctor::archive {
namespace {

constexpr uint64_t kDeflateWindow = 32u << 10;  // the farthest a back-reference reaches
constexpr uint32_t kCheckpointSpacing = 32u << 10;
constexpr uint64_t kGzipWindow = 32u << 10;  // gzip(1)'s output buffer (WSIZE)

class GzipDecoder final : public Decoder {
 public:
  GzipDecoder(ChunkReader& reader, std::span<const uint8_t> first, size_t out_size)
      : reader_(reader), state_(new inflate_state), out_(out_size) {
    isal_inflate_init(state_.get());
    set_input(first, 0);
  }

  std::span<const uint8_t> next() override {
    if (done_) return {};
    inflate_state& st = *state_;
    st.next_out = out_.data();
    st.avail_out = static_cast<uint32_t>(out_.size());
    while (st.avail_out > 0 && !pending_) {
      if (st.avail_in == 0 && !eof_) load();
      if (!in_member_) {
        if (st.avail_in == 0) {
          if (eof_) break;
          continue;
        }
        if (trailing_ || *st.next_in != 0x1f ||
            (members_ > 0 && st.avail_in >= 2 && st.next_in[1] != 0x8b)) {
          consume_trailing();
          continue;
        }
        isal_inflate_reset(&st);
        st.crc_flag = ISAL_GZIP;
        isal_gzip_header_init(&header_);
        in_member_ = true;
        member_offset_ = position();
        member_uncompressed_offset_ = produced_ + (out_.size() - st.avail_out);
        member_starts_.push_back(member_uncompressed_offset_);
        note_checkpoint(member_uncompressed_offset_, member_offset_, true);
        ++members_;
      }
      uint32_t avail_out_before = st.avail_out;
      auto block_state_before = st.block_state;
      auto wrapper_before = st.wrapper_flag;
      int rc = ISAL_DECOMP_OK;
      if (st.wrapper_flag) {
        rc = inflate_noting_position();
      } else {
        // The member's header is read here, into header_, which lives as long as the member:
        // isal_inflate reads it into a struct on its stack and, when the header straddles two
        // chunks, goes on with that struct's uninitialized flags (intel/isa-l#224), taking an
        // intact member with a name or extra field for a damaged one. Positive: more input.
        rc = isal_read_gzip_header(&st, &header_);
        if (rc > 0) rc = ISAL_DECOMP_OK;
      }
      if (rc < 0) {
        fail(rc);  // sets pending_ (ends the loop), or skips trailing garbage
        continue;
      }
      if (st.block_state == ISAL_BLOCK_FINISH) {
        in_member_ = false;
        // The next member starts a piece: see keep_whole_windows().
        if (st.avail_out != out_.size()) break;
        continue;
      }
      bool progress = st.avail_out != avail_out_before || st.block_state != block_state_before ||
                      st.wrapper_flag != wrapper_before;
      if (eof_ && st.avail_in == 0 && !progress) {
        if (reader_.error() == 0 && members_ > 1 && short_tail_is_garbage()) {
          --members_;
          if (!member_starts_.empty()) member_starts_.pop_back();
          in_member_ = false;
          trailing_ = true;
          garbage_offset_ = member_offset_;
          garbage_bytes_ += position() - member_offset_;
          break;
        }
        if (reader_.error() != 0) {
          pend("read_error", std::string("read error: ") + sdk::errno_text(reader_.error()),
               reader_.error_offset());
        } else {
          pend("truncated",
               "the file ends inside gzip member " + std::to_string(members_ - 1) +
                   " (unexpected end of file)",
               position());
        }
        break;
      }
    }
    size_t written = keep_whole_windows(out_.size() - st.avail_out);
    produced_ += written;
    if (written == 0) {
      if (pending_)
        damage_ = std::move(pending_);
      else if (!in_member_ && eof_ && reader_.error() != 0)
        damage_ = make("read_error", std::string("read error: ") + sdk::errno_text(reader_.error()),
                       reader_.error_offset());
      else if (members_ == 0 && !damage_)
        damage_ = make("bad_header", "no gzip member found", 0);
      done_ = true;
      return {};
    }
    return {out_.data(), written};
  }

  const std::optional<Damage>& damage() const override { return damage_; }
  uint64_t compressed_position() const override { return position(); }
  std::string compression() const override { return "gzip"; }
  std::optional<std::string> lower_bound_reason() const override {
    if (!damage_ || damage_->kind != "corrupt_data") return std::nullopt;
    return "ISA-L stops at the first invalid deflate code, and `gzip -d` does not check them all "
           "(a back-reference before the start of the data, say) and may decode on";
  }

  nlohmann::json details() const override {
    nlohmann::json j = {{"gzip_members", members_}, {"gzip_engine", "isa-l"}};
    if (trailing_zero_bytes_ > 0) j["trailing_zero_bytes"] = trailing_zero_bytes_;
    if (garbage_offset_) {
      j["trailing_garbage_offset"] = *garbage_offset_;
      j["trailing_garbage_bytes"] = garbage_bytes_;
    }
    return j;
  }

  void take_member_starts(std::vector<uint64_t>& out) override {
    out.insert(out.end(), member_starts_.begin(), member_starts_.end());
    member_starts_.clear();
  }

  // Deflate output at `offset` was decoded from bits after the checkpoint before it.
  std::optional<uint64_t> decoded_from(uint64_t offset) const override {
    size_t n = std::min(checkpoint_count_, checkpoints_.size());
    for (size_t i = 0; i < n; ++i) {
      const Checkpoint& c = checkpoints_[(checkpoint_count_ - 1 - i) % checkpoints_.size()];
      // Strictly before: the block header of output starting right at a checkpoint may have
      // been read by the call before it.
      if (c.decoded < offset || (c.member_start && c.decoded <= offset)) return c.compressed;
    }
    return 0;  // older than the checkpoints kept: anywhere from the start of the file
  }
  // It may copy output from up to 32 KiB before it (copies of copies are not followed);
  // back-references never reach into an earlier member, which decoded_from() knows.
  std::optional<uint64_t> earliest_cause(uint64_t offset) const override {
    return decoded_from(offset > kDeflateWindow ? offset - kDeflateWindow : 0);
  }

  std::optional<std::string> warning() const override {
    if (!garbage_offset_) return std::nullopt;
    return std::to_string(garbage_bytes_) +
           " bytes of non-gzip data follow the last gzip member (at offset " +
           std::to_string(*garbage_offset_) + "); gzip ignores them with a warning";
  }

 private:
  void set_input(std::span<const uint8_t> chunk, uint64_t base) {
    chunk_ = chunk;
    chunk_base_ = base;
    state_->next_in = const_cast<uint8_t*>(chunk.data());
    state_->avail_in = static_cast<uint32_t>(chunk.size());
  }
  void load() {
    uint64_t base = reader_.consumed();
    auto chunk = reader_.next();
    if (chunk.empty()) {
      eof_ = true;
      set_input({}, base);
      return;
    }
    set_input(chunk, base);
  }
  uint64_t position() const {
    return chunk_base_ + static_cast<uint64_t>(state_->next_in - chunk_.data());
  }

  // gzip(1) writes a member's output 32 KiB at a time, and on invalid deflate data exits
  // without writing the window it was filling, so GNU tar never sees those bytes: the same are
  // held back here. Pieces start at member starts, and are whole windows up to their end.
  size_t keep_whole_windows(size_t written) const {
    if (!pending_ || pending_->kind != "corrupt_data") return written;
    uint64_t member_out = produced_ + written - member_uncompressed_offset_;
    uint64_t partial = member_out % kGzipWindow;
    return partial < written ? written - static_cast<size_t>(partial) : 0;
  }

  // isal_inflate, at most kCheckpointSpacing bytes of output at a time, noting before each call
  // how much output is decoded and from where in the file the rest will be.
  int inflate_noting_position() {
    inflate_state& st = *state_;
    // Input ISA-L has taken from next_in but not decoded yet: its bit buffer and header bytes.
    uint64_t held = static_cast<uint64_t>(std::max<int>(st.tmp_in_size, 0)) +
                    (static_cast<uint64_t>(std::max(st.read_in_length, 0)) + 7) / 8;
    uint64_t at = position();
    at = at > held ? at - held : 0;
    // Output ISA-L has decoded but not written out yet: in its own buffer, and the rest of a
    // copy or of literals that did not fit.
    uint64_t pending = static_cast<uint64_t>(std::max(st.tmp_out_valid - st.tmp_out_processed, 0)) +
                       static_cast<uint64_t>(std::max(st.copy_overflow_length, 0)) +
                       static_cast<uint64_t>(std::max(st.write_overflow_len, 0));
    note_checkpoint(produced_ + (out_.size() - st.avail_out) + pending,
                    std::max(at, member_offset_), false);
    uint32_t room = st.avail_out;
    uint32_t slice = std::min(room, kCheckpointSpacing);
    st.avail_out = slice;
    int rc = isal_inflate(&st);
    st.avail_out = room - (slice - st.avail_out);
    return rc;
  }

  void note_checkpoint(uint64_t decoded, uint64_t compressed, bool member_start) {
    checkpoints_[checkpoint_count_++ % checkpoints_.size()] = {decoded, compressed, member_start};
  }

  // A few bytes after the last member that ISA-L holds while waiting for a full 10-byte header:
  // garbage unless they start like a gzip header.
  bool short_tail_is_garbage() const {
    const inflate_state& st = *state_;
    if (st.block_state != ISAL_BLOCK_NEW_HDR || st.wrapper_flag) return false;
    if (position() - member_offset_ >= 10) return false;
    const uint8_t* b = st.tmp_in_buffer;
    int n = st.tmp_in_size;
    return (n >= 2 && b[1] != 0x8b) || (n >= 3 && b[2] != 8) || n < 2;
  }

  // Between members: zero padding (tape blocks, dd) is harmless; anything else is garbage
  // that gzip(1) warns about and ignores, and so do we (after counting it).
  void consume_trailing() {
    inflate_state& st = *state_;
    if (!trailing_) {
      const uint8_t* p = st.next_in;
      const uint8_t* end = p + st.avail_in;
      while (p < end && *p == 0) ++p;
      trailing_zero_bytes_ += static_cast<uint64_t>(p - st.next_in);
      st.avail_in -= static_cast<uint32_t>(p - st.next_in);
      st.next_in = const_cast<uint8_t*>(p);
      if (p == end) return;
      // Zero padding before another member (whose magic may straddle the chunk end).
      if (*p == 0x1f && (end - p < 2 || p[1] == 0x8b)) return;
      trailing_ = true;
      garbage_offset_ = position();
    }
    garbage_bytes_ += st.avail_in;
    st.next_in += st.avail_in;
    st.avail_in = 0;
  }

  Damage make(std::string kind, std::string message, uint64_t offset) const {
    Damage d;
    d.kind = std::move(kind);
    d.message = std::move(message);
    d.compressed_offset = offset;
    if (members_ > 0) {
      d.member_index = members_ - 1;
      d.member_offset = member_offset_;
      d.member_uncompressed_offset = member_uncompressed_offset_;
    }
    return d;
  }
  void pend(std::string kind, std::string message, uint64_t offset) {
    pending_ = make(std::move(kind), std::move(message), offset);
  }

  void fail(int rc) {
    uint64_t member = members_ - 1;
    if ((rc == ISAL_INVALID_WRAPPER || rc == ISAL_UNSUPPORTED_METHOD) && members_ > 1 &&
        state_->block_state == ISAL_BLOCK_NEW_HDR) {
      // Not a gzip member after a complete one: trailing garbage, as gzip(1) sees it.
      --members_;
      if (!member_starts_.empty()) member_starts_.pop_back();
      in_member_ = false;
      trailing_ = true;
      garbage_offset_ = member_offset_;
      garbage_bytes_ += chunk_base_ + chunk_.size() - member_offset_;
      state_->next_in = const_cast<uint8_t*>(chunk_.data() + chunk_.size());
      state_->avail_in = 0;
      return;
    }
    std::string where = "gzip member " + std::to_string(member);
    switch (rc) {
      case ISAL_INCORRECT_CHECKSUM:
        // Before the header is complete, the only checksum is the header's own (FHCRC).
        if (!state_->wrapper_flag) {
          pend("bad_header",
               "the header checksum (FHCRC) of " + where +
                   " does not match: its header is damaged, before any data",
               position());
          break;
        }
        pend("checksum_mismatch",
             "CRC-32/length check failed at the end of " + where +
                 ": its data decompressed but is not what was compressed",
             position());
        break;
      case ISAL_INVALID_WRAPPER:
      case ISAL_UNSUPPORTED_METHOD:
        pend("bad_header", "invalid gzip header at the start of " + where, position());
        break;
      case ISAL_INVALID_BLOCK:
        pend("corrupt_data", "invalid deflate block in " + where, position());
        break;
      case ISAL_INVALID_SYMBOL:
        pend("corrupt_data", "invalid deflate code in " + where, position());
        break;
      case ISAL_INVALID_LOOKBACK:
        pend("corrupt_data", "invalid back-reference distance in " + where, position());
        break;
      default:
        pend("corrupt_data", "inflate error " + std::to_string(rc) + " in " + where, position());
    }
  }

  ChunkReader& reader_;
  std::unique_ptr<inflate_state> state_;
  isal_gzip_header header_{};  // of the current member; no buffers: its fields are skipped
  std::vector<uint8_t> out_;
  std::span<const uint8_t> chunk_;
  uint64_t chunk_base_ = 0;
  bool eof_ = false, done_ = false, in_member_ = false, trailing_ = false;
  uint64_t members_ = 0, member_offset_ = 0, member_uncompressed_offset_ = 0, produced_ = 0;
  uint64_t trailing_zero_bytes_ = 0, garbage_bytes_ = 0;
  std::optional<uint64_t> garbage_offset_;
  std::vector<uint64_t> member_starts_;
  std::optional<Damage> pending_, damage_;
  // Where the output at an uncompressed offset came from, for decoded_from(): output from
  // `decoded` on is decoded from `compressed` on. A ring covering the last 16 MiB of output or
  // more.
  struct Checkpoint {
    uint64_t decoded = 0, compressed = 0;
    bool member_start = false;
  };
  std::array<Checkpoint, 512> checkpoints_{};
  size_t checkpoint_count_ = 0;
};

}  // namespace

std::unique_ptr<Decoder> make_gzip_decoder(ChunkReader& reader, std::span<const uint8_t> first,
                                           size_t output_chunk_size) {
  return std::make_unique<GzipDecoder>(reader, first, output_chunk_size);
}

}  // namespace backup_doctor::archive
