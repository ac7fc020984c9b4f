#include "target.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <memory>

namespace backup_doctor::archive {

bool has_glob(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

Target resolve_target(const TargetSpec& spec) {
  Target t;
  std::string dir = spec.path;
  std::string pattern = spec.pattern.empty() ? "*" : spec.pattern;
  struct stat st {};
  if (::stat(spec.path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      t.path = spec.path;
      return t;
    }
  } else {
    size_t slash = spec.path.find_last_of('/');
    std::string last = slash == std::string::npos ? spec.path : spec.path.substr(slash + 1);
    if (!has_glob(last)) {
      t.missing = true;
      t.error = spec.path + ": " + std::strerror(errno);
      return t;
    }
    dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : spec.path.substr(0, slash));
    pattern = last;
  }
  t.directory = dir;
  t.pattern = pattern;
  struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) {
    t.missing = errno == ENOENT;
    t.error = dir + ": " + std::strerror(errno);
    return t;
  }
  struct timespec best_time {};
  std::string best;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (::fnmatch(pattern.c_str(), name.c_str(), 0) != 0) continue;
    bool excluded = false;
    for (const auto& x : spec.exclude)
      if (::fnmatch(x.c_str(), name.c_str(), 0) == 0 &&
          ::fnmatch(x.c_str(), pattern.c_str(), 0) != 0)
        excluded = true;
    if (excluded) continue;
    std::string full = dir == "/" ? "/" + name : dir + "/" + name;
    struct stat fs {};
    if (::stat(full.c_str(), &fs) != 0 || !S_ISREG(fs.st_mode)) continue;
    ++t.candidates;
    bool newer = fs.st_mtim.tv_sec != best_time.tv_sec     ? fs.st_mtim.tv_sec > best_time.tv_sec
                 : fs.st_mtim.tv_nsec != best_time.tv_nsec ? fs.st_mtim.tv_nsec > best_time.tv_nsec
                                                           : name > best;
    if (best.empty() || newer) {
      best = name;
      best_time = fs.st_mtim;
      t.path = full;
    }
  }
  if (t.path.empty()) t.error = "no file matching '" + pattern + "' in " + dir;
  return t;
}

}  // namespace backup_doctor::archive
