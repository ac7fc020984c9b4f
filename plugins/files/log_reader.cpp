#include "log_reader.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace backup_doctor::files {

namespace {
ssize_t pread_full(int fd, char* buf, size_t n, off_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = pread(fd, buf + done, n - done, offset + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}
}  // namespace

ReverseLineReader::ReverseLineReader(int fd, off_t size, size_t chunk, size_t max_line,
                                     size_t max_chunk)
    : fd_(fd),
      size_(size),
      file_pos_(size),
      chunk_(std::max<size_t>(chunk, 1)),
      max_line_(max_line),
      max_chunk_(std::max(chunk_, max_chunk)) {
  // A final '\n' ends the last line; it does not start an empty one.
  if (size > 0) {
    char last = 0;
    if (pread_full(fd_, &last, 1, size - 1) == 1 && last == '\n') file_pos_ = size - 1;
  }
}

bool ReverseLineReader::fill() {
  if (file_pos_ == 0) return false;
  const size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(chunk_), file_pos_));
  const off_t at = file_pos_ - static_cast<off_t>(n);
  // The new chunk goes in front of the unreturned rest (at most a partial line).
  auto next = std::make_unique_for_overwrite<char[]>(n + end_);
  ssize_t got = pread_full(fd_, next.get(), n, at);
  if (got != static_cast<ssize_t>(n))
    throw std::runtime_error(got < 0 ? sdk::errno_text(errno)
                                     : std::string("file shrank while reading"));
  if (end_) std::memcpy(next.get() + n, buf_.get(), end_);
  buf_ = std::move(next);
  end_ += n;
  file_pos_ = at;
  bytes_read_ += n;
  chunk_ = std::min(chunk_ * 2, max_chunk_);
  // Kernel readahead only runs forwards: ask for the chunk before this one now, so the disk
  // works while this one is scanned.
  if (file_pos_ > 0) {
    off_t ahead = std::min<off_t>(static_cast<off_t>(chunk_), file_pos_);
    posix_fadvise(fd_, file_pos_ - ahead, ahead, POSIX_FADV_WILLNEED);
  }
  // A runaway line: keep its earliest bytes only, which become its start once found.
  if (end_ > max_line_ + n && std::memchr(buf_.get(), '\n', end_) == nullptr) end_ = max_line_;
  return true;
}

bool ReverseLineReader::prev(std::string_view& line) {
  if (done_) return false;
  for (;;) {
    const char* base = buf_.get();
    const void* nl = end_ ? memrchr(base, '\n', end_) : nullptr;
    if (nl != nullptr) {
      size_t i = static_cast<size_t>(static_cast<const char*>(nl) - base);
      line = std::string_view(base + i + 1, std::min(end_ - i - 1, max_line_));
      line_offset_ = file_pos_ + static_cast<off_t>(i + 1);
      end_ = i;
      return true;
    }
    if (!fill()) {
      // Start of file: what is left is the first line (an empty file has none).
      done_ = true;
      if (size_ == 0) return false;
      line = std::string_view(base ? base : "", std::min(end_, max_line_));
      line_offset_ = 0;
      end_ = 0;
      return true;
    }
  }
}

bool count_newlines(int fd, off_t end, uintmax_t limit, uintmax_t& count) {
  count = 0;
  if (static_cast<uintmax_t>(end) > limit) return false;
  std::vector<char> buf(1 << 20);
  off_t pos = 0;
  while (pos < end) {
    size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(buf.size()), end - pos));
    ssize_t got = pread_full(fd, buf.data(), n, pos);
    if (got <= 0) return false;
    count += static_cast<uintmax_t>(std::count(buf.data(), buf.data() + got, '\n'));
    pos += got;
  }
  return true;
}

}  // namespace backup_doctor::files
