// Reads a text file's lines backwards from its end, in chunks, so the tail of a multi-gigabyte
// log costs what the tail costs. Read-only: the file is opened O_RDONLY and never modified.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace backup_doctor::files {

class ReverseLineReader {
 public:
  // Lines longer than max_line are cut to (about) their first max_line bytes. Reads start at
  // `chunk` bytes and double up to max_chunk, so a tail costs little and a long scan does few
  // large reads.
  explicit ReverseLineReader(int fd, off_t size, size_t chunk = 1 << 16, size_t max_line = 1 << 20,
                             size_t max_chunk = 4 << 20);

  // The previous line (without its '\n'), valid until the next call; false once the start of
  // the file is passed. Throws std::runtime_error on a read error.
  bool prev(std::string_view& line);

  // File offset where the last line returned starts.
  off_t line_offset() const { return line_offset_; }
  // Bytes read from the file so far.
  uintmax_t bytes_read() const { return bytes_read_; }

 private:
  bool fill();

  int fd_;
  off_t size_;
  off_t file_pos_;               // file offset of buf_[0]
  std::unique_ptr<char[]> buf_;  // buf_[0, end_) not yet returned
  size_t end_ = 0;
  size_t chunk_, max_line_, max_chunk_;
  off_t line_offset_ = 0;
  uintmax_t bytes_read_ = 0;
  bool done_ = false;
};

// Number of '\n' bytes in [0, end) of the file; stops early (returning false) past `limit`
// bytes so that line numbers in a huge log do not cost a full read.
bool count_newlines(int fd, off_t end, uintmax_t limit, uintmax_t& count);

}  // namespace backup_doctor::files
