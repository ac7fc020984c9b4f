#include "scan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

namespace backup_doctor::archive {

ArchiveFormat format_from_name(const std::string& name) {
  std::string lower = std::filesystem::path(name).filename().string();
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t at = lower.find(".tar"); at != std::string::npos; at = lower.find(".tar", at + 1)) {
    size_t after = at + 4;
    if (after == lower.size() || lower[after] == '.') return ArchiveFormat::tar;
  }
  for (const char* ext :
       {".tgz", ".taz", ".tbz", ".tbz2", ".tb2", ".txz", ".tzst", ".tlz", ".tz"}) {
    std::string e = ext;
    if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0)
      return ArchiveFormat::tar;
  }
  return ArchiveFormat::auto_detect;
}

namespace {
double thread_cpu() {
  struct timespec t {};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}
// Whether the file is still being written: its size and mtime once more. A reader at disk
// speed reaches the end of a file being written between two of the writer's writes, so a file
// that ends early and was modified in the last seconds gets a moment to grow first.
void look_again(int fd, ScanResult& result) {
  struct stat after {};
  if (::fstat(fd, &after) != 0) return;
  const auto& d = result.walk.damage;
  bool ends_early = d && (d->kind == "truncated" || d->kind == "tar_truncated");
  bool unchanged =
      static_cast<uint64_t>(after.st_size) == result.file_size && after.st_mtime == result.mtime;
  if (ends_early && unchanged && std::time(nullptr) - after.st_mtime <= 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (::fstat(fd, &after) != 0) return;
  }
  result.file_size_after = static_cast<uint64_t>(after.st_size);
  result.mtime_after = after.st_mtime;
}

}  // namespace

ScanResult scan_archive(support::SafeOpened file, const std::string& path,
                        const ScanOptions& options) {
  auto started = std::chrono::steady_clock::now();
  double cpu_started = thread_cpu();
  ScanResult result;
  result.path = path;
  result.file_size = static_cast<uint64_t>(file.st.st_size);
  result.mtime = file.st.st_mtime;
  result.file_size_after = result.file_size;
  result.mtime_after = result.mtime;
  const int fd = file.fd.release();
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // No more ring than the file fills (a 4 KiB dump gets two chunks, not 16 MiB).
  uint64_t chunks_needed = result.file_size / options.read_chunk + 1;
  size_t chunks = static_cast<size_t>(std::min<uint64_t>(options.read_chunks, chunks_needed));
  ChunkReader reader(fd, ReadOptions{options.read_chunk, chunks, options.hash});
  if (result.file_size == 0) {
    Damage d;
    d.kind = "empty";
    d.message = "the file is empty (0 bytes)";
    result.walk.damage = d;
    result.compression = "none";
    result.sha256 = reader.finish_digest();
    return result;
  }
  auto decoder = make_decoder(reader, options.gzip_engine, options.output_chunk);
  result.compression = decoder->compression();

  WalkOptions walk;
  walk.format =
      options.format == ArchiveFormat::auto_detect ? format_from_name(path) : options.format;
  walk.on_entry = options.on_entry;
  walk.cancelled = options.cancelled;
  double last_fraction = -1;
  if (options.on_progress && result.file_size > 0) {
    walk.on_progress = [&](uint64_t position) {
      double fraction = static_cast<double>(position) / static_cast<double>(result.file_size);
      if (fraction - last_fraction >= 0.01) {
        last_fraction = fraction;
        options.on_progress(std::min(fraction, 1.0));
      }
    };
  }
  result.walk = walk_archive(*decoder, walk);
  look_again(fd, result);
  result.compression = decoder->compression();
  result.compression_details = decoder->details();
  result.compression_warning = decoder->warning();
  // The digest covers the whole file even when the archive is damaged: whether the damaged file
  // still matches its checksum tells a bad backup run from later corruption.
  result.cpu_decompress_seconds = thread_cpu() - cpu_started;
  if (options.hash && !result.walk.cancelled) {
    result.sha256 = reader.finish_digest();
    result.cpu_read_hash_seconds = reader.thread_cpu_seconds();
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace backup_doctor::archive
