// One streaming pass over an archive file: read (and SHA-256 on a second thread) → decompress
// (ISA-L for gzip, libarchive otherwise) → walk the entries (libarchive). Memory is constant
// whatever the archive size; the file is opened read-only and never modified.
#pragma once

#include <backup_doctor/support/safe_open.hpp>
#include "decoder.hpp"
#include "tar_walker.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace backup_doctor::archive {

struct ScanOptions {
  ArchiveFormat format = ArchiveFormat::auto_detect;  // auto: tar when the name says so
  GzipEngine gzip_engine = GzipEngine::isal;
  bool hash = true;
  // Chunks that stay in the cores' L2 caches measured faster (~15% less CPU) than 2 MiB ones:
  // the reading thread writes them, the decompressing thread reads them on the other core.
  // The ring (16 MiB) lets either thread run that far ahead of the other: enough to carry the
  // hasher through a 16 MiB incompressible file, where it is the slower of the two, with what
  // it read ahead during the compressible data before (8 chunks measured 1.3x igzip -t's time,
  // 64 chunks 0.93x). Peak RSS of a run stays under 32 MiB.
  size_t read_chunk = 256u << 10;
  size_t read_chunks = 64;
  size_t output_chunk = 128u << 10;
  std::function<void(const EntryInfo&)> on_entry;
  std::function<bool()> cancelled;
  std::function<void(double fraction)> on_progress;
};

struct ScanResult {
  std::string path;
  uint64_t file_size = 0;
  int64_t mtime = 0;
  // The same, looked at again when the scan ended: a backup still being written has grown.
  uint64_t file_size_after = 0;
  int64_t mtime_after = 0;
  bool changed_during_scan() const { return file_size_after != file_size || mtime_after != mtime; }
  std::string compression;
  nlohmann::json compression_details = nlohmann::json::object();
  std::optional<std::string> compression_warning;
  WalkResult walk;
  std::string sha256;  // hex; empty when not hashed or unreadable
  double seconds = 0;
  // CPU time of the two threads: decompression and entry walk; reading and hashing. On an idle
  // machine the wall time is about the larger of the two.
  double cpu_decompress_seconds = 0, cpu_read_hash_seconds = 0;
};

// "tar" when the file name says tar (.tar, .tar.*, .tgz, .tbz2, .txz, .tzst, ...), else auto.
ArchiveFormat format_from_name(const std::string& name);

// Scans the archive open on `file` (from resolve_target, or support::open_untrusted: a regular
// file); `path` names it in the results and decides the format by its name.
ScanResult scan_archive(support::SafeOpened file, const std::string& path,
                        const ScanOptions& options);

}  // namespace backup_doctor::archive
