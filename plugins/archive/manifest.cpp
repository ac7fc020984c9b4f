#include "manifest.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

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

namespace {

constexpr int kMaxDepth = 512;

class SourceWalker {
 public:
  SourceWalker(const std::string& root_path, const SourceWalkOptions& options, Manifest& out,
               SourceWalkResult& result)
      : root_path_(root_path), options_(options), out_(out), result_(result) {}

  // Walks the directory open on `dir`; `rel_` holds its path relative to the root.
  void walk(int dir, int depth) {
    // One list per depth, reused: a million entries make no allocation churn (which fragments
    // the heap that the manifests grow in).
    while (levels_.size() < static_cast<size_t>(depth)) levels_.emplace_back();
    std::vector<support::DirEntry>& entries = levels_[static_cast<size_t>(depth) - 1];
    entries.clear();
    if (int err = support::list_directory(dir, entries); err != 0) unreadable(rel_, err);
    const size_t base = rel_.size();
    for (const auto& e : entries) {
      if ((++seen_ & 4095) == 0 && options_.cancelled && options_.cancelled()) {
        result_.cancelled = true;
        return;
      }
      if (base) rel_ += '/';
      rel_ += e.name;
      if (S_ISREG(e.st.st_mode)) {
        if (!excluded(rel_, options_.exclude)) out_.add(rel_, e.st.st_size, e.st.st_mtime);
      } else if (S_ISDIR(e.st.st_mode) && !excluded(rel_, options_.exclude) &&
                 (!options_.one_file_system || e.st.st_dev == root_dev_)) {
        descend(dir, e, depth);
        if (result_.cancelled) return;
      }
      rel_.resize(base);
    }
  }

  void set_root_device(dev_t dev) { root_dev_ = dev; }

 private:
  void descend(int dir, const support::DirEntry& e, int depth) {
    if (depth >= kMaxDepth) {
      unreadable(rel_, ELOOP);
      return;
    }
    support::UniqueFd sub(
        ::openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!sub || ::fstat(sub.get(), &st) != 0) {
      unreadable(rel_, errno);
      return;
    }
    if (st.st_ino != e.st.st_ino || st.st_dev != e.st.st_dev) {
      unreadable(rel_, ESTALE);  // replaced while we looked
      return;
    }
    walk(sub.get(), depth + 1);
  }

  void unreadable(const std::string& rel, int err) {
    ++result_.unreadable;
    if (result_.unreadable_samples.size() < 10)
      result_.unreadable_samples.push_back((rel.empty() ? root_path_ : root_path_ + "/" + rel) +
                                           ": " + sdk::errno_text(err));
  }

  const std::string& root_path_;
  const SourceWalkOptions& options_;
  Manifest& out_;
  SourceWalkResult& result_;
  std::string rel_;
  std::deque<std::vector<support::DirEntry>> levels_;  // deque: growing keeps references valid
  uint64_t seen_ = 0;
  dev_t root_dev_ = 0;
};

}  // namespace

SourceWalkResult walk_source(int root, const std::string& root_path,
                             const SourceWalkOptions& options, Manifest& out) {
  SourceWalkResult result;
  struct stat st {};
  SourceWalker walker(root_path, options, out, result);
  if (::fstat(root, &st) == 0) walker.set_root_device(st.st_dev);
  walker.walk(root, 1);
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
