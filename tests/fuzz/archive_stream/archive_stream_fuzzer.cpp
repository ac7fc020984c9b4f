// archive.verify's whole scan pipeline over a backup archive the backup account (or whatever
// wrote to the backup storage) controls: the content sniffing of its first bytes, the read ring
// with its hashing thread, ISA-L gzip members (or libarchive's in-process filters), and the tar
// walk with its damage location. The input is the archive file; it lives in a memfd, so nothing
// is written to disk. Small read chunks make small inputs cross chunk boundaries, and a gzip
// input is scanned again in tiny chunks: the verdict must not depend on where they end.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "content_sniff.hpp"
#include "scan.hpp"

namespace {

using namespace backup_doctor;
using namespace backup_doctor::archive;

int g_memfd = -1;

// Decompression bombs are legitimately slow, not a bug: the walk is cancelled (a real check
// has a timeout) after this many pieces of the decompressed stream.
constexpr int kMaxPieces = 512;

// A fresh descriptor on the memfd, at offset 0, as resolve_target would hand it over.
support::SafeOpened open_input() {
  support::SafeOpened file;
  int fd = ::fcntl(g_memfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) std::abort();
  ::lseek(fd, 0, SEEK_SET);
  file.fd = support::UniqueFd(fd);
  if (::fstat(fd, &file.st) != 0) std::abort();
  return file;
}

ScanResult scan(GzipEngine engine, bool hash, size_t read_chunk, size_t* seen_out) {
  ScanOptions options;
  options.format = ArchiveFormat::tar;
  options.gzip_engine = engine;
  options.hash = hash;
  options.read_chunk = read_chunk;
  options.read_chunks = 3;
  options.output_chunk = 4096;
  int pieces = 0;
  size_t seen = 0;
  options.cancelled = [&pieces] { return ++pieces > kMaxPieces; };
  options.on_entry = [&seen](const EntryInfo& e) { seen += e.path.size(); };
  options.on_progress = [](double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) std::abort();
  };
  ScanResult r = scan_archive(open_input(), "/backups/fuzz.tar.gz", options);
  // What the check serializes from the result.
  seen +=
      r.compression_details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
  if (r.walk.damage) seen += r.walk.damage->to_json().size();
  if (r.walk.first_symptom) seen += r.walk.first_symptom->to_json().size();
  if (r.compression_warning) seen += r.compression_warning->size();
  if (r.walk.complete.entries < r.walk.before_damage.entries) std::abort();
  *seen_out = seen + r.sha256.size() + r.walk.warnings.size();
  return r;
}

// Where the read chunks end must not matter: an intact archive read in 61-byte chunks (every
// gzip header and trailer straddles one) is as intact, with the same entries and bytes.
void same_verdict(const ScanResult& a, const ScanResult& b) {
  if (a.walk.cancelled || b.walk.cancelled) return;
  if (a.walk.damage.has_value() != b.walk.damage.has_value()) std::abort();
  if (a.walk.damage) return;
  if (a.walk.stream_bytes != b.walk.stream_bytes ||
      a.walk.complete.entries != b.walk.complete.entries ||
      a.compression_details != b.compression_details)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_memfd = ::memfd_create("fuzz-archive", MFD_CLOEXEC);
  if (g_memfd < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // The sniffing of the first 4 KiB (report_misnamed), and names from a directory listing.
  Sniffed sniffed = sniff(bytes.substr(0, 4096));
  if (sniffed.first_bytes.size() > 16 * 3) std::abort();
  std::string name(bytes.substr(0, 256));
  (void)compression_named(name);
  (void)format_from_name(name);

  if (::ftruncate(g_memfd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(g_memfd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  // An archive modified in the last seconds that ends early gets 300 ms to grow
  // (look_again): an old mtime keeps every input fast.
  struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
  if (::futimens(g_memfd, times) != 0) std::abort();

  size_t seen = 0, more = 0;
  ScanResult first = scan(GzipEngine::isal, true, 4096, &seen);
  bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (gzip && size <= 16384) same_verdict(first, scan(GzipEngine::isal, false, 61, &more));
  // The libarchive engine on gzip input, for a third of the inputs: libarchive's gzip filter
  // and the walker's handling of its errors (other compressions always go through libarchive).
  if (gzip && (size + data[size - 1]) % 3 == 0)
    (void)scan(GzipEngine::libarchive, false, 4096, &more);
  volatile size_t sink = seen + more;
  (void)sink;
  return 0;
}
