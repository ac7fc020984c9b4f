#include "safe_glob.hpp"
#include <backup_doctor/system.hpp>

#include "file_facts.hpp"
#include "inspect.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace backup_doctor::files {

using sdk::has_glob;
using sdk::user_name;

namespace {

using DirFd = std::shared_ptr<const support::UniqueFd>;

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string read_link_at(int dir, const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf);
  return n < 0 ? std::string("(unreadable)") : std::string(buf, static_cast<size_t>(n));
}

class Expander {
 public:
  Expander(std::vector<std::string> parts, GlobResult& out) : parts_(std::move(parts)), out_(out) {}

  void expand(const DirFd& dir, const std::string& dir_path, size_t index) {
    const std::string& part = parts_[index];
    if (!has_glob(part)) {
      struct stat st {};
      if (::fstatat(dir->get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        take(dir, dir_path, part, st, index);
      return;
    }
    std::vector<support::DirEntry> entries;
    if (int err = support::list_directory(dir->get(), entries); err != 0)
      out_.skipped.push_back({dir_path, std::string("cannot be listed: ") + sdk::errno_text(err)});
    for (const auto& e : entries)
      if (::fnmatch(part.c_str(), e.name.c_str(), FNM_PERIOD) == 0)
        take(dir, dir_path, e.name, e.st, index);
  }

 private:
  void take(const DirFd& dir, const std::string& dir_path, const std::string& name,
            const struct stat& st, size_t index) {
    std::string path = join(dir_path, name);
    if (index + 1 == parts_.size()) {
      out_.matches.push_back({path, dir, dir_path, name, st});
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      out_.skipped.push_back({path, "is a symbolic link to " + read_link_at(dir->get(), name) +
                                        " (owned by " + user_name(st.st_uid) + "); not followed"});
      return;
    }
    if (!S_ISDIR(st.st_mode)) return;  // as glob(3): only directories lead on
    auto sub = support::open_untrusted_at(dir->get(), dir_path, name, support::Expect::directory);
    if (!sub) {
      out_.skipped.push_back({path, refusal_text(sub)});
      return;
    }
    expand(std::make_shared<const support::UniqueFd>(std::move(sub.fd)), path, index + 1);
  }

  std::vector<std::string> parts_;
  GlobResult& out_;
};

}  // namespace

GlobResult expand_glob(const std::string& pattern) {
  GlobResult result;
  std::vector<std::string> parts = split(pattern);
  const bool absolute = !pattern.empty() && pattern[0] == '/';
  size_t first = 0;
  while (first < parts.size() && !has_glob(parts[first])) ++first;
  if (first == parts.size()) first = parts.empty() ? 0 : parts.size() - 1;
  std::string base = absolute ? "/" : ".";
  for (size_t i = 0; i < first; ++i) base = join(base == "." ? "" : base, parts[i]);
  if (base.empty()) base = ".";
  auto opened = support::open_untrusted(base, support::Expect::directory);
  if (!opened) {
    if (opened.refusal != support::Refusal::missing) result.error = refusal_text(opened);
    return result;
  }
  std::vector<std::string> rest(parts.begin() + static_cast<long>(first), parts.end());
  if (rest.empty()) return result;
  Expander(rest, result)
      .expand(std::make_shared<const support::UniqueFd>(std::move(opened.fd)),
              base == "." && !absolute ? "" : base, 0);
  std::sort(result.matches.begin(), result.matches.end(),
            [](const GlobMatch& a, const GlobMatch& b) { return a.path < b.path; });
  return result;
}

}  // namespace backup_doctor::files
