// File lists for comparing an archive with its source tree. Built for a million entries: paths
// live in one arena, entries are 32 bytes, and the comparison is a sort plus one merge pass.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::archive {

class Manifest {
 public:
  struct Item {
    uint64_t path_offset;
    uint32_t path_size;
    uint32_t flags;  // kHardlink: size not comparable
    int64_t size;
    int64_t mtime;
  };
  static constexpr uint32_t kHardlink = 1;

  void add(std::string_view path, int64_t size, int64_t mtime, uint32_t flags = 0);
  void sort();  // by path; removes duplicates (the last one added wins, as on extraction)
  size_t size() const { return items_.size(); }
  const Item& operator[](size_t i) const { return items_[i]; }
  std::string_view path(const Item& item) const {
    return std::string_view(arena_).substr(item.path_offset, item.path_size);
  }
  uint64_t total_bytes() const;

 private:
  std::string arena_;
  std::vector<Item> items_;
};

// Archive member names made comparable with paths relative to the source root: leading "./"
// and "/" removed, then `prefix` (a directory inside the archive) stripped. Returns false when
// the name is outside `prefix`.
bool normalize_member(std::string_view name, std::string_view prefix, std::string& out);

struct SourceWalkOptions {
  std::vector<std::string> exclude;  // globs on the relative path or the base name
  bool one_file_system = false;
  std::function<bool()> cancelled;
};

struct SourceWalkResult {
  uint64_t unreadable = 0;  // directories that could not be listed
  std::vector<std::string> unreadable_samples;
  bool cancelled = false;
};

// Every regular file under the directory open on `root` (`root_path` names it in messages), as
// paths relative to it. Nothing is followed: each subdirectory is opened relative to its parent
// with O_NOFOLLOW and checked to be the directory that was listed, so a directory swapped for a
// link during the walk is never entered (the walk that support::walk_tree does, keeping every
// unreadable directory's error).
SourceWalkResult walk_source(int root, const std::string& root_path,
                             const SourceWalkOptions& options, Manifest& out);

bool excluded(std::string_view relative, const std::vector<std::string>& patterns);

struct Difference {
  std::string path;
  int64_t archive_size = -1, source_size = -1;
  int64_t archive_mtime = 0, source_mtime = 0;
};

struct Category {
  std::vector<Difference> items;  // the first max_items
  uint64_t count = 0;
};

// How a source tree differs from an archive of it, judged against the time the archive was
// written (`reference_time`): a difference in a file modified after it is expected churn; one
// in a file that has not changed since means the archive did not capture the file correctly.
struct Comparison {
  Category not_in_archive;  // in the source, older than the archive, yet not in it
  Category added_since;     // in the source only, modified after the archive was written
  Category removed_since;   // in the archive only
  Category changed_since;   // in both, source modified after the archive (size or mtime differ)
  Category size_mismatch;   // in both, different size, source not modified since the archive
  Category mtime_mismatch;  // in both, same size, different mtime, source not modified since
  uint64_t matched = 0;
};

// `reference_time`: when the archive was written (its mtime); a source file modified after it
// was expected to differ. Both manifests must be sorted. Keeps the first `max_items` of each kind.
Comparison compare_manifests(const Manifest& archive, const Manifest& source,
                             int64_t reference_time, size_t max_items);

}  // namespace backup_doctor::archive
