// What ETag S3 would give a local file: its MD5 for a single-part upload, or for a multipart
// upload the MD5 of the concatenated part MD5s followed by "-<parts>". Computed with OpenSSL
// EVP, every candidate part size in one read of the file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace backup_doctor::s3 {

struct LocalEtags {
  uint64_t size = 0;
  std::string md5;                            // hex, when asked for
  std::map<uint64_t, std::string> multipart;  // part size -> "hex-N"
};

// The local file could not be read back: `error` is the errno of the failed lseek or read.
struct LocalReadError : std::runtime_error {
  LocalReadError(const std::string& what, int err) : std::runtime_error(what), error(err) {}
  int error;
};

// Reads the open file `fd` once from its start (`path` names it in messages; open it with
// support::open_untrusted). Throws LocalReadError when it cannot be read, std::runtime_error
// when OpenSSL fails or the read is cancelled. `cancelled` is polled between chunks.
LocalEtags compute_local_etags(int fd, const std::string& path, bool want_md5,
                               const std::vector<uint64_t>& part_sizes,
                               const std::function<bool()>& cancelled = {});

// Part sizes that common tools use, in the order worth trying: the AWS CLI's 8 MiB default, the
// 16 MiB many backup scripts set, S3's 5 MiB minimum (rclone), s3cmd's 15 MiB, then larger.
std::vector<uint64_t> common_part_sizes();

// The candidates from `sizes` that give exactly `parts` parts for `object_size` bytes.
std::vector<uint64_t> consistent_part_sizes(uint64_t object_size, int parts,
                                            const std::vector<uint64_t>& sizes);

}  // namespace backup_doctor::s3
