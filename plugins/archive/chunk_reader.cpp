#include "chunk_reader.hpp"

#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <new>

namespace backup_doctor::archive {

int open_read_only(const std::string& path) {
  auto opened = support::open_untrusted(path, support::Expect::regular);
  if (!opened) {
    errno = opened.error ? opened.error
            : opened.refusal == support::Refusal::symlink ||
                    opened.refusal == support::Refusal::untrusted_link
                ? ELOOP
            : opened.refusal == support::Refusal::wrong_type ? EINVAL
                                                             : EPERM;
    return -1;
  }
  ::posix_fadvise(opened.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return opened.fd.release();
}

ChunkReader::ChunkReader(int fd, ReadOptions options) : fd_(fd), options_(options) {
  if (options_.chunks < 2) options_.chunks = 2;
  // One allocation on 2 MiB boundaries, offered to transparent huge pages: the ring is touched
  // once per chunk by read() and again by inflate and SHA-256, and huge pages save thousands of
  // first-touch page faults and TLB misses (measurably, a few percent of the run).
  size_t total = options_.chunks * options_.chunk_size;
  constexpr size_t kHugePage = size_t{2} << 20;
  size_t rounded = (total + kHugePage - 1) / kHugePage * kHugePage;
  ring_ = static_cast<uint8_t*>(std::aligned_alloc(kHugePage, rounded));
  if (ring_ == nullptr) throw std::bad_alloc();
  ::madvise(ring_, rounded, MADV_HUGEPAGE);  // advice only: fine if refused
  for (size_t i = 0; i < options_.chunks; ++i) slots_.push_back(ring_ + i * options_.chunk_size);
  sizes_.assign(options_.chunks, 0);
  thread_ = std::thread([this] { hash_loop(); });
}

ChunkReader::~ChunkReader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  std::free(ring_);
}

bool ChunkReader::slot_free(uint64_t index) const {
  uint64_t done = consumer_done_ ? hashed_ : std::min(released_, hashed_);
  return index < done + slots_.size();
}

void ChunkReader::read_next_chunk(std::unique_lock<std::mutex>& lock) {
  uint64_t index = read_done_;
  uint64_t offset = bytes_read_;
  uint8_t* buffer = slots_[index % slots_.size()];
  reading_ = true;
  lock.unlock();
  size_t filled = 0;
  int err = 0;
  while (filled < options_.chunk_size) {
    ssize_t n = ::read(fd_, buffer + filled, options_.chunk_size - filled);
    if (n > 0) {
      filled += static_cast<size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      err = errno;
      break;
    }
  }
  lock.lock();
  reading_ = false;
  bytes_read_ += filled;
  if (filled > 0) {
    sizes_[index % slots_.size()] = filled;
    ++read_done_;
  }
  if (err != 0) {
    error_ = err;
    error_offset_ = offset + filled;
  }
  if (err != 0 || filled < options_.chunk_size) end_ = true;
  cv_.notify_all();
}

void ChunkReader::hash_loop() {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(nullptr, &EVP_MD_CTX_free);
  if (options_.hash) {
    md.reset(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) md.reset();
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop_) break;
    if (hashed_ < read_done_) {
      uint64_t index = hashed_;
      lock.unlock();
      if (md)
        EVP_DigestUpdate(md.get(), slots_[index % slots_.size()], sizes_[index % slots_.size()]);
      lock.lock();
      ++hashed_;
      cv_.notify_all();
      continue;
    }
    if (end_) break;
    // Nothing left to hash: read the next chunk ourselves when its slot is free.
    if (!reading_ && slot_free(read_done_)) {
      read_next_chunk(lock);
      continue;
    }
    cv_.wait(lock);
  }
  bool complete = end_ && hashed_ == read_done_ && error_ == 0;
  if (md && complete) {
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
  thread_cpu_seconds_ = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
}

std::span<const uint8_t> ChunkReader::next() {
  std::unique_lock lock(mutex_);
  if (holding_) {
    holding_ = false;
    ++released_;
    cv_.notify_all();
  }
  for (;;) {
    uint64_t index = released_;
    if (index < read_done_) {
      holding_ = true;
      size_t size = sizes_[index % slots_.size()];
      consumed_ += size;
      return {slots_[index % slots_.size()], size};
    }
    if (end_ || stop_) return {};
    // The hasher has not read this far: read it here rather than wait.
    if (!reading_ && slot_free(read_done_)) {
      read_next_chunk(lock);
      continue;
    }
    cv_.wait(lock);
  }
}

std::string ChunkReader::finish_digest() {
  {
    std::lock_guard lock(mutex_);
    if (holding_) {
      holding_ = false;
      ++released_;
    }
    consumer_done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  return error_ == 0 && options_.hash ? digest_ : std::string();
}

}  // namespace backup_doctor::archive
