// Reads an archive file front to back exactly once, on a helper thread that also feeds every
// byte to SHA-256, so hashing overlaps with whatever the caller does with the bytes
// (decompression). Memory is fixed: `chunks` buffers of `chunk_size` bytes.
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

// Opens `path` read-only without updating its access time when the kernel allows it
// (O_NOATIME needs ownership or CAP_FOWNER; otherwise it falls back to a plain read-only open).
// Returns the fd or -1 with errno set.
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

  // CPU time the reading and hashing thread used (valid once it has finished).
  double thread_cpu_seconds() const { return thread_cpu_seconds_; }

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
    bool ready = false;
  };
  void produce();

  int fd_;
  ReadOptions options_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t read_index_ = 0;   // next slot the consumer takes
  size_t held_ = SIZE_MAX;  // slot the consumer holds now
  bool producer_done_ = false;
  bool stop_ = false;
  uint64_t consumed_ = 0;
  int error_ = 0;
  uint64_t error_offset_ = 0;
  std::string digest_;
  double thread_cpu_seconds_ = 0;
  std::thread thread_;
};

}  // namespace backup_doctor::archive
