// What the files and archive attack tests share: seeing whether an inode was really opened,
// a snapshot of a directory tree, and the assertions every attack ends with.
#pragma once

#include "hostile.hpp"

#include <fcntl.h>
#include <sys/inotify.h>

#include <map>
#include <tuple>

namespace backup_doctor::test {

namespace fs = std::filesystem;

// Sees real opens of an inode: reading it, or opening a FIFO or device. Looking at it through
// an O_PATH descriptor, lstat() or readlink() makes no IN_OPEN event.
class OpenWatch {
 public:
  OpenWatch() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) { REQUIRE(fd_ >= 0); }
  ~OpenWatch() { close(fd_); }
  void watch(const fs::path& p) {
    REQUIRE(inotify_add_watch(fd_, p.c_str(), IN_OPEN | IN_DONT_FOLLOW) >= 0);
  }
  int opens() const {
    int count = 0;
    alignas(inotify_event) char buf[4096];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;)
      for (char* p = buf; p < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(p);
        if (e->mask & IN_OPEN) ++count;
        p += sizeof(inotify_event) + e->len;
      }
    return count;
  }

 private:
  int fd_;
};

// Every entry under a directory with what would show a change: type/mode, owner, size, mtime.
using Tree = std::map<std::string, std::tuple<unsigned, unsigned, long long, long long>>;
inline Tree tree_of(const fs::path& root) {
  Tree t;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    t[it->path().string()] = {
        st.st_mode, st.st_uid, static_cast<long long>(st.st_size),
        static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
  }
  return t;
}

// What every attack must not achieve, whatever it planted.
struct Before {
  Tree home, base;
  explicit Before(const Scene& s)
      : home(tree_of(s.home())), base(tree_of(s.base() / "root-only")) {}
};
inline void assert_no_harm(const Scene& s, const Outcome& o, const Before& before,
                           const fs::path& marker = {}) {
  CHECK_MESSAGE(o.report.is_object(), (o.process.out + o.process.err));
  CHECK_MESSAGE(o.everything.find(s.secret_token()) == std::string::npos,
                "root-only content in the output");
  CHECK(o.elapsed < std::chrono::seconds(15));
  CHECK(o.process.exit_code >= 0);
  if (!marker.empty()) CHECK(marker_owner(marker) != 0);
  CHECK(processes_with(s.home().string()) == 0);
  CHECK(tree_of(s.home()) == before.home);
  CHECK(tree_of(s.base() / "root-only") == before.base);
}

inline nlohmann::json check(const std::string& id, const std::string& use, nlohmann::json with) {
  return {{"id", id}, {"use", use}, {"timeout", "20s"}, {"with", std::move(with)}};
}

inline std::string text_of(const nlohmann::json& r) {
  return r.value("summary", std::string()) + " | " + r.value("remediation", std::string());
}

inline bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Root's file, fresh: what a link in the backup directory would make look like a new backup.
inline void touch_now(const fs::path& p) {
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0);
}
inline void set_age(const fs::path& p, int seconds) {
  struct timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= seconds;
  t[1] = t[0];
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace backup_doctor::test
