#include "sidecar.hpp"

#include <backup_doctor/system.hpp>

#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

namespace backup_doctor::archive {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

namespace {

// sha256sum writes names holding a backslash or newline with a leading '\' and escapes.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The tagged form: `sha256sum --tag` and BSD writes "SHA256 (name) = hex", `openssl dgst
// -sha256` writes "SHA2-256(name)= hex" (OpenSSL 3) or "SHA256(name)= hex" (1.1).
struct Tagged {
  std::string_view name, digest;
};
std::optional<Tagged> tagged_line(std::string_view line) {
  for (std::string_view tag : {"SHA256 (", "SHA256(", "SHA2-256("}) {
    if (line.substr(0, tag.size()) != tag) continue;
    for (std::string_view sep : {") = ", ")= "}) {
      size_t close = line.rfind(sep);
      if (close == std::string_view::npos || close < tag.size()) continue;
      std::string_view digest = line.substr(close + sep.size());
      if (is_sha256_hex(digest)) return Tagged{line.substr(tag.size(), close - tag.size()), digest};
    }
  }
  return std::nullopt;
}

}  // namespace

SidecarParse parse_sidecar(std::string_view text) {
  SidecarParse result;
  size_t number = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    bool escaped = false;
    if (line.front() == '\\') {
      escaped = true;
      line.remove_prefix(1);
    }
    SidecarLine entry;
    entry.line = number;
    if (auto tagged = tagged_line(line)) {
      entry.digest = lower(tagged->digest);
      entry.name = escaped ? unescape(tagged->name) : std::string(tagged->name);
      entry.binary = true;
      result.lines.push_back(std::move(entry));
      continue;
    }
    if (line.size() >= 64 && is_sha256_hex(line.substr(0, 64)) &&
        (line.size() == 64 || line[64] == ' ' || line[64] == '\t')) {
      entry.digest = lower(line.substr(0, 64));
      std::string_view rest = line.substr(64);
      // "<hex>  name" (text) or "<hex> *name" (binary); a bare digest has no name.
      if (!rest.empty()) rest.remove_prefix(1);
      if (!rest.empty() && (rest.front() == '*' || rest.front() == ' ')) {
        entry.binary = rest.front() == '*';
        rest.remove_prefix(1);
      }
      entry.name = escaped ? unescape(rest) : std::string(rest);
      result.lines.push_back(std::move(entry));
      continue;
    }
    result.bad_lines.push_back(number);
  }
  return result;
}

std::optional<SidecarLine> pick_sidecar_line(const SidecarParse& parsed,
                                             const std::string& archive_path, bool* name_matched) {
  namespace fs = std::filesystem;
  std::string base = fs::path(archive_path).filename().string();
  const SidecarLine* by_base = nullptr;
  for (const auto& line : parsed.lines) {
    if (line.name == archive_path) {
      *name_matched = true;
      return line;
    }
    if (!by_base && fs::path(line.name).filename().string() == base) by_base = &line;
  }
  if (by_base) {
    *name_matched = true;
    return *by_base;
  }
  *name_matched = false;
  if (parsed.lines.size() == 1) {
    *name_matched = parsed.lines.front().name.empty();  // a bare digest names nothing
    return parsed.lines.front();
  }
  return std::nullopt;
}

Checksum load_checksum(const std::string& archive, const std::optional<std::string>& digest,
                       const std::optional<std::string>& sidecar) {
  Checksum c;
  if (digest) {
    c.source = "param";
    c.expected = lower(*digest);
    return c;
  }
  bool explicit_sidecar = sidecar.has_value();
  c.sidecar = explicit_sidecar ? *sidecar : archive + ".sha256";
  // The checksum file lies in the backup directory too: a link, a FIFO or a device planted in
  // its place is named, never opened.
  auto opened = support::open_untrusted(c.sidecar, support::Expect::regular);
  if (opened.refusal == support::Refusal::missing && !explicit_sidecar) {
    c.sidecar.clear();
    return c;
  }
  c.source = "sidecar";
  if (!opened) {
    c.refusal = opened.refusal;
    c.refused = std::move(opened);
    const bool not_a_file =
        c.refusal == support::Refusal::symlink || c.refusal == support::Refusal::wrong_type ||
        c.refusal == support::Refusal::hard_link || c.refusal == support::Refusal::untrusted_link;
    c.problem = not_a_file ? "checksum file " + c.refused.message
                           : "checksum file " + c.sidecar +
                                 " cannot be read: " + sdk::errno_text(c.refused.error);
    return c;
  }
  c.sidecar_mtime = opened.st.st_mtime;
  std::string text = support::read_up_to(opened.fd.get(), 1 << 20).data;
  SidecarParse parsed = parse_sidecar(text);
  auto line = pick_sidecar_line(parsed, archive, &c.name_matches);
  if (!line) {
    c.problem = parsed.lines.empty()
                    ? "checksum file " + c.sidecar + " holds no SHA-256 line"
                    : "checksum file " + c.sidecar + " has " + std::to_string(parsed.lines.size()) +
                          " lines but none for " + archive;
    return c;
  }
  c.expected = line->digest;
  c.name_in_sidecar = line->name;
  c.binary_marker = line->binary;
  return c;
}

}  // namespace backup_doctor::archive
