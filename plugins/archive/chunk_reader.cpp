#include "chunk_reader.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <cerrno>
#include <ctime>

namespace backup_doctor::archive {

int open_read_only(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

ChunkReader::ChunkReader(int fd, ReadOptions options) : fd_(fd), options_(options) {
  if (options_.chunks < 2) options_.chunks = 2;
  slots_.resize(options_.chunks);
  for (auto& s : slots_) s.data.reset(new uint8_t[options_.chunk_size]);
  thread_ = std::thread([this] { produce(); });
}

ChunkReader::~ChunkReader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void ChunkReader::produce() {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(nullptr, &EVP_MD_CTX_free);
  if (options_.hash) {
    md.reset(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) md.reset();
  }
  uint64_t offset = 0;
  size_t write_index = 0;
  for (;;) {
    Slot& slot = slots_[write_index];
    {
      std::unique_lock lock(mutex_);
      // A slot is free when the consumer has neither it queued nor in hand.
      cv_.wait(lock, [&] { return stop_ || (!slot.ready && held_ != write_index); });
      if (stop_) break;
    }
    size_t filled = 0;
    int err = 0;
    while (filled < options_.chunk_size) {
      ssize_t n = ::read(fd_, slot.data.get() + filled, options_.chunk_size - filled);
      if (n > 0) {
        filled += static_cast<size_t>(n);
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        err = errno;
        break;
      }
    }
    if (md && filled > 0) EVP_DigestUpdate(md.get(), slot.data.get(), filled);
    bool eof = err != 0 || filled < options_.chunk_size;
    {
      std::lock_guard lock(mutex_);
      if (filled > 0) {
        slot.size = filled;
        slot.ready = true;
      }
      offset += filled;
      if (err != 0) {
        error_ = err;
        error_offset_ = offset;
      }
      if (eof) {
        if (md && err == 0) {
          unsigned char out[EVP_MAX_MD_SIZE];
          unsigned int len = 0;
          if (EVP_DigestFinal_ex(md.get(), out, &len) == 1) {
            static const char* hex = "0123456789abcdef";
            for (unsigned int i = 0; i < len; ++i) {
              digest_ += hex[out[i] >> 4];
              digest_ += hex[out[i] & 15];
            }
          }
        }
        struct timespec cpu {};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        thread_cpu_seconds_ =
            static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
        producer_done_ = true;
      }
    }
    cv_.notify_all();
    if (eof) break;
    write_index = (write_index + 1) % slots_.size();
  }
}

std::span<const uint8_t> ChunkReader::next() {
  std::unique_lock lock(mutex_);
  if (held_ != SIZE_MAX) {
    slots_[held_].ready = false;
    held_ = SIZE_MAX;
    cv_.notify_all();
  }
  Slot& slot = slots_[read_index_];
  cv_.wait(lock, [&] { return slot.ready || producer_done_; });
  if (!slot.ready) return {};
  held_ = read_index_;
  read_index_ = (read_index_ + 1) % slots_.size();
  consumed_ += slot.size;
  return {slot.data.get(), slot.size};
}

std::string ChunkReader::finish_digest() {
  while (!next().empty()) {
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  return error_ == 0 ? digest_ : std::string();
}

}  // namespace backup_doctor::archive
