#include "etag.hpp"

#include <backup_doctor/system.hpp>

#include <openssl/evp.h>

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace backup_doctor::s3 {

namespace {

struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Md = std::unique_ptr<EVP_MD_CTX, MdFree>;

Md new_md5() {
  Md c(EVP_MD_CTX_new());
  if (!c || EVP_DigestInit_ex(c.get(), EVP_md5(), nullptr) != 1)
    throw std::runtime_error("cannot initialise MD5 (OpenSSL)");
  return c;
}

std::string finish_raw(EVP_MD_CTX* c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(c, md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string hex(const std::string& raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// One candidate part size: the running MD5 of the current part and the part digests so far.
struct Candidate {
  uint64_t part_size;
  uint64_t in_part = 0;
  int parts = 0;
  Md part;
  std::string digests;

  void feed(const unsigned char* data, size_t len) {
    while (len > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(len, part_size - in_part));
      EVP_DigestUpdate(part.get(), data, take);
      in_part += take;
      data += take;
      len -= take;
      if (in_part == part_size) close_part();
    }
  }
  void close_part() {
    digests += finish_raw(part.get());
    ++parts;
    in_part = 0;
    part = new_md5();
  }
  std::string etag() {
    if (in_part > 0 || parts == 0) close_part();
    Md all = new_md5();
    EVP_DigestUpdate(all.get(), digests.data(), digests.size());
    return hex(finish_raw(all.get())) + "-" + std::to_string(parts);
  }
};

[[noreturn]] void read_failed(const std::string& path, int err) {
  throw LocalReadError("cannot read " + path + ": " + sdk::errno_text(err), err);
}

}  // namespace

LocalEtags compute_local_etags(int fd, const std::string& path, bool want_md5,
                               const std::vector<uint64_t>& part_sizes,
                               const std::function<bool()>& cancelled) {
  if (::lseek(fd, 0, SEEK_SET) != 0) read_failed(path, errno);
#ifdef POSIX_FADV_SEQUENTIAL
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif

  LocalEtags out;
  Md whole;
  if (want_md5) whole = new_md5();
  std::vector<Candidate> candidates;
  for (uint64_t ps : part_sizes)
    if (ps > 0) candidates.push_back(Candidate{ps, 0, 0, new_md5(), {}});

  std::vector<unsigned char> buf(1 << 20);
  for (;;) {
    if (cancelled && cancelled()) throw std::runtime_error("cancelled");
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      read_failed(path, errno);
    }
    if (n == 0) break;
    out.size += static_cast<uint64_t>(n);
    if (whole) EVP_DigestUpdate(whole.get(), buf.data(), static_cast<size_t>(n));
    for (auto& c : candidates) c.feed(buf.data(), static_cast<size_t>(n));
  }
  if (whole) out.md5 = hex(finish_raw(whole.get()));
  for (auto& c : candidates) out.multipart[c.part_size] = c.etag();
  return out;
}

std::vector<uint64_t> common_part_sizes() {
  const uint64_t MiB = 1024 * 1024;
  return {8 * MiB,   16 * MiB,  5 * MiB,   15 * MiB,   10 * MiB, 32 * MiB, 64 * MiB,  100 * MiB,
          128 * MiB, 256 * MiB, 512 * MiB, 1024 * MiB, 6 * MiB,  7 * MiB,  4096 * MiB};
}

std::vector<uint64_t> consistent_part_sizes(uint64_t object_size, int parts,
                                            const std::vector<uint64_t>& sizes) {
  std::vector<uint64_t> out;
  if (parts <= 0) return out;
  for (uint64_t ps : sizes) {
    if (ps == 0) continue;
    uint64_t n = (object_size + ps - 1) / ps;
    if (object_size == 0) n = 1;
    if (n == static_cast<uint64_t>(parts)) out.push_back(ps);
  }
  return out;
}

}  // namespace backup_doctor::s3
