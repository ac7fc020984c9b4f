// Checksum files next to archives: `sha256sum` output ("<hex>  name", "<hex> *name" in binary
// mode, backslash-escaped names) and the BSD/`sha256sum --tag` form "SHA256 (name) = <hex>".
#pragma once

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

bool is_sha256_hex(std::string_view s);
std::string lower(std::string_view s);

}  // namespace backup_doctor::archive
