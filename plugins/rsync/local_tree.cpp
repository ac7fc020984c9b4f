#include "local_tree.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace backup_doctor::rsync {
namespace {

constexpr int kMaxHops = 8;

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string fd_path(int fd) {
  char buf[4096];
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A link that only trusted owners could have made or changed: its owner is trusted and its
// directory is one only trusted owners can change (the rule open_untrusted applies to links
// earlier in a path).
bool trusted_link(const std::string& path, const struct stat& link) {
  if (!support::trusted_owner(link.st_uid)) return false;
  auto dir = support::open_untrusted(parent_of(path), support::Expect::directory);
  return dir && support::untrusted_writer(dir.st).empty();
}

std::string link_target_path(const std::string& path, const std::string& target) {
  if (!target.empty() && target[0] == '/') return target;
  return parent_of(path) + "/" + target;
}

OpenedTree open_tree_at_depth(const std::string& given, int hops) {
  OpenedTree out;
  std::string path = without_trailing_slash(given);
  auto r = support::open_untrusted(path, support::Expect::directory);
  if (r) {
    out.real_path = fd_path(r.fd.get());
    if (out.real_path.empty()) out.real_path = path;
    out.fd = std::move(r.fd);
    return out;
  }
  if (r.refusal == support::Refusal::symlink && hops < kMaxHops && trusted_link(path, r.st))
    return open_tree_at_depth(link_target_path(path, r.link_target), hops + 1);
  out.missing = r.refusal == support::Refusal::missing;
  out.kind = r.refusal;
  out.refusal = r.message;
  return out;
}

// Links: what could redirect root. Anything else (missing, a file, denied) rsync reports itself.
bool link_refusal(support::Refusal r) {
  return r == support::Refusal::symlink || r == support::Refusal::untrusted_link;
}

}  // namespace

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

OpenedTree open_tree(const std::string& path) {
  return open_tree_at_depth(path, 0);
}

std::string tree_risk(const std::string& path, bool follow_last) {
  if (follow_last) {
    OpenedTree t = open_tree(path);
    return link_refusal(t.kind) ? t.refusal : std::string();
  }
  auto r = support::open_untrusted(without_trailing_slash(path), support::Expect::any);
  return r.refusal == support::Refusal::untrusted_link ? r.message : std::string();
}

}  // namespace backup_doctor::rsync
