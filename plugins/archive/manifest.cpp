#include "manifest.hpp"

#include <fnmatch.h>
#include <fts.h>
#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace backup_doctor::archive {

void Manifest::add(std::string_view path, int64_t size, int64_t mtime, uint32_t flags) {
  items_.push_back(Item{arena_.size(), static_cast<uint32_t>(path.size()), flags, size, mtime});
  arena_.append(path);
}

void Manifest::sort() {
  // Ties broken by insertion order (the arena offset grows with it), so that for duplicate
  // paths the later entry sorts last and is the one kept.
  std::sort(items_.begin(), items_.end(), [this](const Item& a, const Item& b) {
    int c = path(a).compare(path(b));
    return c != 0 ? c < 0 : a.path_offset < b.path_offset;
  });
  std::vector<Item> unique;
  unique.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i + 1 < items_.size() && path(items_[i]) == path(items_[i + 1])) continue;
    unique.push_back(items_[i]);
  }
  items_.swap(unique);
}

uint64_t Manifest::total_bytes() const {
  uint64_t total = 0;
  for (const auto& i : items_) total += static_cast<uint64_t>(std::max<int64_t>(0, i.size));
  return total;
}

bool normalize_member(std::string_view name, std::string_view prefix, std::string& out) {
  for (;;) {
    if (name.substr(0, 2) == "./")
      name.remove_prefix(2);
    else if (!name.empty() && name.front() == '/')
      name.remove_prefix(1);
    else
      break;
  }
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (!prefix.empty()) {
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix ||
        name[prefix.size()] != '/')
      return false;
    name.remove_prefix(prefix.size() + 1);
  }
  if (name.empty() || name == ".") return false;
  out.assign(name);
  return true;
}

bool excluded(std::string_view relative, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return false;
  std::string rel(relative);
  size_t slash = rel.find_last_of('/');
  const char* base = rel.c_str() + (slash == std::string::npos ? 0 : slash + 1);
  for (const auto& p : patterns) {
    if (::fnmatch(p.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
    if (::fnmatch(p.c_str(), base, 0) == 0) return true;
    // "dir/*" style patterns also cover everything below dir
    if (::fnmatch(p.c_str(), rel.c_str(), FNM_LEADING_DIR) == 0) return true;
  }
  return false;
}

SourceWalkResult walk_source(const std::string& root, const SourceWalkOptions& options,
                             Manifest& out) {
  SourceWalkResult result;
  char* paths[] = {const_cast<char*>(root.c_str()), nullptr};
  int flags = FTS_PHYSICAL | FTS_NOCHDIR | (options.one_file_system ? FTS_XDEV : 0);
  FTS* fts = ::fts_open(paths, flags, nullptr);
  if (!fts) {
    ++result.unreadable;
    result.unreadable_samples.push_back(root + ": " + std::strerror(errno));
    return result;
  }
  size_t root_len = root.size();
  while (root_len > 1 && root[root_len - 1] == '/') --root_len;
  uint64_t n = 0;
  while (FTSENT* e = ::fts_read(fts)) {
    if ((++n & 4095) == 0 && options.cancelled && options.cancelled()) {
      result.cancelled = true;
      break;
    }
    if (e->fts_level == 0) continue;
    std::string_view full(e->fts_path, e->fts_pathlen);
    std::string_view rel = full.substr(std::min(full.size(), root_len + 1));
    switch (e->fts_info) {
      case FTS_D:
        if (excluded(rel, options.exclude)) ::fts_set(fts, e, FTS_SKIP);
        break;
      case FTS_DNR:
      case FTS_ERR:
        ++result.unreadable;
        if (result.unreadable_samples.size() < 10)
          result.unreadable_samples.push_back(std::string(full) + ": " +
                                              std::strerror(e->fts_errno));
        break;
      case FTS_F:
        if (!excluded(rel, options.exclude))
          out.add(rel, e->fts_statp->st_size, e->fts_statp->st_mtime);
        break;
      default:
        break;
    }
  }
  ::fts_close(fts);
  out.sort();
  return result;
}

Comparison compare_manifests(const Manifest& archive, const Manifest& source,
                             int64_t reference_time, size_t max_items) {
  Comparison c;
  auto keep = [max_items](Category& category, Difference d) {
    if (category.items.size() < max_items) category.items.push_back(std::move(d));
    ++category.count;
  };
  size_t i = 0, j = 0;
  while (i < archive.size() || j < source.size()) {
    int order;
    if (i == archive.size())
      order = 1;
    else if (j == source.size())
      order = -1;
    else {
      auto a = archive.path(archive[i]), s = source.path(source[j]);
      order = a < s ? -1 : (a > s ? 1 : 0);
    }
    if (order < 0) {
      const auto& a = archive[i++];
      keep(c.removed_since, {std::string(archive.path(a)), a.size, -1, a.mtime, 0});
    } else if (order > 0) {
      const auto& s = source[j++];
      Difference d{std::string(source.path(s)), -1, s.size, 0, s.mtime};
      keep(s.mtime > reference_time ? c.added_since : c.not_in_archive, std::move(d));
    } else {
      const auto& a = archive[i++];
      const auto& s = source[j++];
      bool comparable = (a.flags & Manifest::kHardlink) == 0;
      bool size_differs = comparable && a.size != s.size;
      bool mtime_differs = comparable && a.mtime != s.mtime;
      if (!size_differs && !mtime_differs) {
        ++c.matched;
        continue;
      }
      Difference d{std::string(source.path(s)), a.size, s.size, a.mtime, s.mtime};
      if (s.mtime > reference_time)
        keep(c.changed_since, std::move(d));
      else if (size_differs)
        keep(c.size_mismatch, std::move(d));
      else
        keep(c.mtime_mismatch, std::move(d));
    }
  }
  return c;
}

}  // namespace backup_doctor::archive
