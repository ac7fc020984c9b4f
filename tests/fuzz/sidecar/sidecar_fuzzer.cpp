// The checksum file next to an archive (ARCHIVE.sha256, or `sidecar`): written by the backup
// job, so by the backup account. parse_sidecar reads every form sha256sum and openssl write,
// pick_sidecar_line chooses the line for the archive. The first input line names the archive
// (an untrusted file name from a directory listing), the rest is the checksum file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sidecar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backup_doctor::archive;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t eol = text.find('\n');
  std::string archive(text.substr(0, eol == std::string_view::npos ? 0 : eol));
  if (archive.empty()) archive = "/var/backups/db-2024-11-29.tar.gz";

  std::string_view body = eol == std::string_view::npos ? text : text.substr(eol + 1);

  SidecarParse parsed = parse_sidecar(body);
  for (const auto& line : parsed.lines) {
    if (!is_sha256_hex(line.digest) || lower(line.digest) != line.digest) std::abort();
    if (line.line == 0) std::abort();
  }
  for (const std::string& path : {archive, std::string("db-2024-11-29.tar.gz")}) {
    bool matched = false;
    auto picked = pick_sidecar_line(parsed, path, &matched);
    if (picked && picked->digest.size() != 64) std::abort();
  }
  return 0;
}
