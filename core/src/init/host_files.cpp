#include "init/host_files.hpp"

#include <backup_doctor/support/safe_open.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace backup_doctor::init {
namespace support = backup_doctor::support;
namespace {
constexpr size_t kMaxFile = 4 << 20;  // no crontab, unit or backup script is larger
constexpr size_t kMaxTotal = size_t{256} << 20;
}  // namespace

HostFiles::HostFiles(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

// "/../x" is "/x" on the host: under --root it must not name a file outside the tree.
std::string HostFiles::on_disk(const std::string& path) const {
  if (root_.empty()) return path;
  return root_ + std::filesystem::path(path).lexically_normal().string();
}

std::optional<std::string> HostFiles::read(const std::string& path, std::string* why) const {
  if (path.empty() || path[0] != '/') {
    if (why) *why = "not an absolute path";
    return std::nullopt;
  }
  if (bytes_read_ >= kMaxTotal) {
    if (why) *why = "init has read 256 MiB of the host's files already";
    return std::nullopt;
  }
  support::SafeOpened f = support::open_untrusted(on_disk(path));
  if (!f) {
    if (why) *why = f.refusal == support::Refusal::missing ? "missing" : f.message;
    return std::nullopt;
  }
  support::BoundedRead r = support::read_up_to(f.fd.get(), kMaxFile);
  bytes_read_ += std::max(r.data.size(), size_t{4096});  // many small reads count too
  if (r.truncated || r.error) {
    if (why) *why = r.truncated ? "larger than 4 MiB" : "could not be read";
    return std::nullopt;
  }
  return std::move(r.data);
}

std::vector<std::string> HostFiles::list(const std::string& path) const {
  std::vector<std::string> names;
  support::SafeOpened d = support::open_untrusted(on_disk(path), support::Expect::directory);
  if (!d) return names;
  std::vector<support::DirEntry> entries;
  if (support::list_directory(d.fd.get(), entries) != 0) return names;
  for (const auto& e : entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

bool HostFiles::is_file(const std::string& path) const {
  support::SafeOpened f = support::open_untrusted(on_disk(path), support::Expect::any);
  return f && S_ISREG(f.st.st_mode);
}

bool HostFiles::is_executable(const std::string& path) const {
  support::SafeOpened f = support::open_untrusted(on_disk(path), support::Expect::any);
  return f && S_ISREG(f.st.st_mode) && (f.st.st_mode & 0111);
}

bool HostFiles::owner_may(const std::string& path, const std::string& named_in,
                          mode_t user_bit) const {
  support::SafeOpened by = support::open_untrusted(on_disk(named_in), support::Expect::any);
  if (!by) return false;
  // Root's file is root's word, unless its group or everyone may change it (then theirs).
  const mode_t writers = by.st.st_mode & (S_IWGRP | S_IWOTH);
  if (by.st.st_uid == 0 && !writers) return true;
  support::SafeOpened f = support::open_untrusted(on_disk(path), support::Expect::any);
  if (!f) return f.refusal == support::Refusal::missing;
  const struct stat& st = f.st;
  if (writers & S_IWOTH) return st.st_mode & (user_bit >> 6);
  return (by.st.st_uid != 0 && st.st_uid == by.st.st_uid && (st.st_mode & user_bit)) ||
         (st.st_gid == by.st.st_gid && (st.st_mode & (user_bit >> 3))) ||
         (st.st_mode & (user_bit >> 6));
}

bool HostFiles::owner_can_write(const std::string& path, const std::string& named_in) const {
  return owner_may(path, named_in, S_IWUSR);
}

bool HostFiles::owner_can_read(const std::string& path, const std::string& named_in) const {
  return owner_may(path, named_in, S_IRUSR);
}

std::string HostFiles::which(const std::string& program, const std::string& search_path) const {
  if (program.find('/') != std::string::npos) return program;
  std::istringstream in(search_path);
  int entries = 0;  // no PATH has more: a longer one is not searched further
  for (std::string dir; std::getline(in, dir, ':') && ++entries <= 64;) {
    if (dir.empty() || dir[0] != '/') continue;
    const std::string candidate = dir + "/" + program;
    if (is_file(candidate)) return candidate;
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> HostFiles::homes() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = read("/etc/passwd");
  if (!text) return out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ':');) f.push_back(x);
    if (f.size() >= 6 && !f[0].empty()) out.emplace_back(f[0], f[5]);
  }
  return out;
}

}  // namespace backup_doctor::init
