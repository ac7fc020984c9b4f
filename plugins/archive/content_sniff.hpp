// What a file's name promises and what its first bytes are: a file named `.gz` must be gzip,
// whatever libarchive would make of it (it takes anything unknown as an uncompressed stream).
// Looked at before the rest of the file is read, so 5 GB of zeros named `.tar.gz` is refused
// after 4 KiB, not after 5 GB.
#pragma once

#include <string>
#include <string_view>

namespace backup_doctor::archive {

// The compression a file name says ("gzip", "bzip2", "xz", "zstd", "lz4", "lzma", "compress"),
// or "" when it names none (`.sql`, `.tar`, `.dump`).
std::string compression_named(const std::string& path);

struct Sniffed {
  std::string compression;  // as compression_named, or "" when no compression magic is there
  std::string looks_like;   // for people: "gzip data", "a JPEG image", "text", "zero bytes", ...
  std::string first_bytes;  // the first (up to 16) bytes in hex
};

// What the first bytes of a file (`head`, up to a few KiB) are.
Sniffed sniff(std::string_view head);

}  // namespace backup_doctor::archive
