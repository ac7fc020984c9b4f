// Reads an archive file front to back exactly once into a ring of fixed buffers and feeds every
// byte to SHA-256 on a helper thread, so hashing overlaps with whatever the caller does with the
// bytes (decompression). Memory is fixed: `chunks` buffers of `chunk_size` bytes.
//
// Either side may run ahead of the other by up to the whole ring: whichever thread needs a chunk
// that nobody has read yet reads it itself. Compressible stretches of an archive are slow to
// inflate and quick to hash, incompressible ones the reverse; with a one-way pipeline the
// decompressor would wait for the hasher on every incompressible stretch, while letting the
// hasher lag (and catch up on the next compressible stretch) keeps both cores busy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace backup_doctor::archive {

struct ReadOptions {
  size_t chunk_size = 256u << 10;
  size_t chunks = 8;
  bool hash = true;
};

// Opens `path` for reading through support::open_untrusted: only a regular file (never a link
// planted in its place, a FIFO or a device), without updating its access time when the kernel
// allows it. Returns the fd or -1 with errno set (ELOOP for a link, EINVAL for a file that is
// not regular, EPERM for a hard link that is refused).
int open_read_only(const std::string& path);

class ChunkReader {
 public:
  // Takes ownership of `fd` (closed by the destructor).
  ChunkReader(int fd, ReadOptions options);
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The next chunk in file order, valid until the following call. Empty at end of file or
  // after a read error (see error()).
  std::span<const uint8_t> next();

  // File offset just past the last chunk handed out.
  uint64_t consumed() const { return consumed_; }
  // errno of a failed read (0: none) and the offset it failed at.
  int error() const { return error_; }
  uint64_t error_offset() const { return error_offset_; }

  // Reads and hashes the rest of the file without handing it out, then returns the SHA-256 as
  // lower-case hex. Empty when hashing is off or a read failed.
  std::string finish_digest();

  // CPU time the hashing thread used, including the reads it did (valid once it has finished).
  double thread_cpu_seconds() const { return thread_cpu_seconds_; }

 private:
  void hash_loop();
  // True when chunk `index` may be read into its slot: the consumer and the hasher are both
  // done with the chunk that used the slot before. Called with mutex_ held.
  bool slot_free(uint64_t index) const;
  // Reads chunk `read_done_` into its slot. Called with `lock` held and `reading_` clear;
  // releases the lock during the read.
  void read_next_chunk(std::unique_lock<std::mutex>& lock);

  int fd_;
  ReadOptions options_;
  uint8_t* ring_ = nullptr;
  std::vector<uint8_t*> slots_;
  std::vector<size_t> sizes_;
  std::mutex mutex_;
  std::condition_variable cv_;
  // Chunk counters since the start of the file; chunk i lives in slot i % chunks.
  uint64_t read_done_ = 0;  // chunks read (reads happen one at a time, in order)
  uint64_t released_ = 0;   // chunks the consumer has finished with
  uint64_t hashed_ = 0;     // chunks hashed
  bool reading_ = false;    // a thread is reading chunk read_done_ now
  bool holding_ = false;    // the consumer holds chunk released_
  bool end_ = false;        // end of file (or read error) reached after read_done_ chunks
  bool consumer_done_ = false;
  bool stop_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t consumed_ = 0;
  int error_ = 0;
  uint64_t error_offset_ = 0;
  std::string digest_;
  double thread_cpu_seconds_ = 0;
  std::thread thread_;
};

}  // namespace backup_doctor::archive
