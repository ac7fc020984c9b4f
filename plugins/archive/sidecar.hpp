// Checksum files next to archives: `sha256sum` output ("<hex>  name", "<hex> *name" in binary
// mode, backslash-escaped names) and the BSD/`sha256sum --tag` form "SHA256 (name) = <hex>".
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::archive {

struct SidecarLine {
  std::string digest;   // lower-case hex, 64 characters
  std::string name;     // file name as written (unescaped)
  bool binary = false;  // the `*` marker
  size_t line = 0;      // 1-based
};

struct SidecarParse {
  std::vector<SidecarLine> lines;
  std::vector<size_t> bad_lines;  // 1-based numbers of lines that are not SHA-256 lines
};

SidecarParse parse_sidecar(std::string_view text);

// The line for `archive_path`: same name, or same base name, or the only line there is.
// `name_matched` tells whether the line's name agrees with the archive's.
std::optional<SidecarLine> pick_sidecar_line(const SidecarParse& parsed,
                                             const std::string& archive_path, bool* name_matched);

// The digest an archive is expected to have: `digest` when given, else the line for it in
// `sidecar` (default: the archive path plus ".sha256", when that file exists). The checksum file
// is opened through support::open_untrusted: only a regular file is read.
struct Checksum {
  std::string source = "none";  // none, param, sidecar
  std::string expected;
  std::string sidecar;
  std::string name_in_sidecar;
  bool name_matches = true;
  bool binary_marker = false;
  int64_t sidecar_mtime = 0;
  std::string problem;  // sidecar unreadable / has no line for the archive
  // Set when the checksum file is not a regular file that could be opened (a link, a FIFO...):
  // why, and what was found (open_untrusted's refusal).
  support::Refusal refusal = support::Refusal::none;
  support::SafeOpened refused;
};

Checksum load_checksum(const std::string& archive, const std::optional<std::string>& digest,
                       const std::optional<std::string>& sidecar);

bool is_sha256_hex(std::string_view s);
std::string lower(std::string_view s);

}  // namespace backup_doctor::archive
