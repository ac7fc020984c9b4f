#include <backup_doctor/support/safe_open.hpp>

#include <backup_doctor/system.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <deque>

namespace backup_doctor::support {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

constexpr int kMaxLinkHops = 40;  // as the kernel's own limit
constexpr int kMaxWalkDepth = 512;

std::string user_text(uid_t uid) {
  auto name = sdk::find_user_name(uid);
  return name ? *name + " (uid " + std::to_string(uid) + ")" : "uid " + std::to_string(uid);
}

std::string group_text(gid_t gid) {
  auto name = sdk::find_group_name(gid);
  return name ? "'" + *name + "'" : "gid " + std::to_string(gid);
}

int openat2_path(int dir, const char* path, uint64_t resolve) {
  struct open_how how {};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof how));
}

std::string read_link(int dir, const char* name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dir, name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::string join(const std::string& dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return dir + std::string(name);
  return dir + "/" + std::string(name);
}

// Could the non-trusted users who may write `dir` read `file` themselves?
bool writers_could_read(const struct stat& dir, const struct stat& file) {
  if (file.st_mode & S_IROTH) return true;
  if (dir.st_mode & (S_IWGRP | S_IWOTH)) return false;  // anyone in the group, or everyone
  uid_t writer = dir.st_uid;
  if (file.st_uid == writer) return (file.st_mode & S_IRUSR) != 0;
  if (!(file.st_mode & S_IRGRP)) return false;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  getpwuid_r(writer, &pw, buf, sizeof buf, &found);
  if (!found) return false;
  int count = 64;
  std::vector<gid_t> groups(64);
  if (getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) return false;
  for (int i = 0; i < count; ++i)
    if (groups[static_cast<size_t>(i)] == file.st_gid) return true;
  return false;
}

SafeOpened refuse(Refusal why, int err, std::string where, std::string message) {
  SafeOpened r;
  r.refusal = why;
  r.error = err;
  r.where = std::move(where);
  r.message = std::move(message);
  return r;
}

SafeOpened from_errno(int err, const std::string& where) {
  Refusal why = err == ENOENT || err == ENOTDIR ? Refusal::missing
                : err == EACCES || err == EPERM ? Refusal::denied
                                                : Refusal::failed;
  return refuse(why, err, where, where + ": " + sdk::errno_text(err));
}

// Reopens an O_PATH descriptor for reading, with the flags that never block or change atime.
int reopen(int path_fd, bool directory) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (directory ? O_DIRECTORY : 0);
  if (directory) {
    int fd = ::openat(path_fd, ".", flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::openat(path_fd, ".", flags);
    return fd;
  }
  std::string proc = "/proc/self/fd/" + std::to_string(path_fd);
  int fd = ::open(proc.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(proc.c_str(), flags);
  return fd;
}

// The last step of every open: the O_PATH descriptor `fd` names the last component; check its
// type (and, for hard links, who could have made it) and open it for what the caller wants.
SafeOpened finish(int fd_raw, const std::string& path, int parent, const std::string& name,
                  Expect expect) {
  SafeOpened r;
  r.fd.reset(fd_raw);
  if (::fstat(r.fd.get(), &r.st) != 0) return from_errno(errno, path);
  if (S_ISLNK(r.st.st_mode)) {
    r.link_target = read_link(parent, name.c_str());
    if (expect == Expect::any) return r;
    struct stat st = r.st;
    auto out = refuse(Refusal::symlink, 0, path,
                      path + " is a symbolic link to " + r.link_target + " (owned by " +
                          user_text(st.st_uid) +
                          "); backup-doctor does not follow links in data it checks");
    out.st = st;
    out.link_target = r.link_target;
    return out;
  }
  if (expect == Expect::any) return r;
  const bool want_dir = expect == Expect::directory;
  if (want_dir ? !S_ISDIR(r.st.st_mode) : !S_ISREG(r.st.st_mode)) {
    struct stat st = r.st;
    auto out = refuse(Refusal::wrong_type, 0, path,
                      path + " is a " + file_type_word(st.st_mode) + ", not a " +
                          (want_dir ? "directory" : "regular file"));
    out.st = st;
    return out;
  }
  // With fs.protected_hardlinks=1 the kernel already stops such links; the rule costs nothing
  // where it does, and protects where it does not.
  if (!want_dir && r.st.st_nlink > 1) {
    struct stat dir {};
    if (::fstat(parent, &dir) == 0 && !untrusted_writer(dir).empty() &&
        !writers_could_read(dir, r.st))
      return refuse(Refusal::hard_link, 0, path,
                    path + " has " + std::to_string(r.st.st_nlink) +
                        " hard links and its directory is " + untrusted_writer(dir) +
                        ", who cannot read it: it may be a link to someone else's file");
  }
  int data = reopen(r.fd.get(), want_dir);
  if (data < 0) return from_errno(errno, path);
  struct stat again {};
  if (::fstat(data, &again) != 0 || again.st_ino != r.st.st_ino || again.st_dev != r.st.st_dev) {
    ::close(data);
    return refuse(Refusal::failed, 0, path, path + " changed while it was being opened");
  }
  r.fd.reset(data);
  r.st = again;
  return r;
}

// Is the link `link` (lstat), found in the directory `dir` (fstat), one only trusted owners
// could have made or changed?
bool trusted_link(const struct stat& link, const struct stat& dir) {
  return trusted_owner(link.st_uid) && untrusted_writer(dir).empty();
}

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

struct WalkState {
  UniqueFd dir;
  struct stat dir_st {};
  std::string shown;  // the path walked so far, for messages
};

// One component at a time from the start of `path`: links before the last component are
// followed only when trusted_link() says so.
SafeOpened walk_open(const std::string& path, Expect expect) {
  WalkState w;
  bool absolute = !path.empty() && path[0] == '/';
  w.dir.reset(::open(absolute ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!w.dir || ::fstat(w.dir.get(), &w.dir_st) != 0) return from_errno(errno, path);
  w.shown = absolute ? "/" : "";
  std::deque<std::string> todo = components(path);
  if (todo.empty()) {
    if (expect == Expect::regular)
      return refuse(Refusal::wrong_type, 0, path, path + " is a directory, not a regular file");
    int fd = ::dup(w.dir.get());
    return finish(fd, path, w.dir.get(), ".", expect);
  }
  int hops = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    const bool last = todo.empty();
    std::string here = join(w.shown, name);
    int fd = ::openat(w.dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return from_errno(errno, here);
    if (last) return finish(fd, path, w.dir.get(), name, expect);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return from_errno(e, here);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target = read_link(w.dir.get(), name.c_str());
      ::close(fd);
      if (!trusted_link(st, w.dir_st)) {
        std::string writer = untrusted_writer(w.dir_st);
        auto r =
            refuse(Refusal::untrusted_link, 0, here,
                   here + " is a symbolic link to " + target + " made by " + user_text(st.st_uid) +
                       (writer.empty() ? "" : " in a directory " + writer) +
                       "; backup-doctor only follows links that root controls");
        r.link_target = target;
        return r;
      }
      if (++hops > kMaxLinkHops || target.empty()) return from_errno(ELOOP, here);
      auto more = components(target);
      for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_front(*it);
      if (target[0] == '/') {
        w.dir.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!w.dir || ::fstat(w.dir.get(), &w.dir_st) != 0) return from_errno(errno, "/");
        w.shown = "/";
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      ::close(fd);
      return from_errno(ENOTDIR, here);
    }
    w.dir.reset(fd);
    w.dir_st = st;
    w.shown = here;
  }
  return from_errno(ENOENT, path);  // unreachable: the last component returns above
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string file_type_word(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISFIFO(mode)) return "FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISCHR(mode)) return "character device";
  return "file of unknown type";
}

bool trusted_owner(uid_t uid) {
  return uid == 0 || uid == ::geteuid();
}

std::string untrusted_writer(const struct stat& dir) {
  if (!trusted_owner(dir.st_uid)) return "owned by " + user_text(dir.st_uid);
  if (dir.st_mode & S_ISVTX) return {};  // only an entry's owner may replace it
  if (dir.st_mode & S_IWOTH) return "writable by everyone";
  if (dir.st_mode & S_IWGRP) return "writable by group " + group_text(dir.st_gid);
  return {};
}

SafeOpened open_untrusted(const std::string& path, Expect expect) {
  if (path.empty()) return from_errno(ENOENT, "(empty path)");
  // No link anywhere on the path (the usual case): one call resolves it. A link as the last
  // component comes back as an O_PATH descriptor to the link itself.
  int fd = openat2_path(AT_FDCWD, path.c_str(), RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) {
    std::string parent = parent_of(path);
    UniqueFd dir(openat2_path(AT_FDCWD, parent.c_str(), RESOLVE_NO_SYMLINKS));
    if (!dir) {  // the parent changed under us; take the careful way
      ::close(fd);
      return walk_open(path, expect);
    }
    return finish(fd, path, dir.get(), base_of(path), expect);
  }
  if (errno == ELOOP || errno == ENOSYS) return walk_open(path, expect);
  return from_errno(errno, path);
}

SafeOpened open_untrusted_at(int dir, const std::string& dir_path, std::string_view name,
                             Expect expect) {
  std::string n(name);
  std::string path = join(dir_path, n);
  if (n.empty() || n == "." || n == ".." || n.find('/') != std::string::npos)
    return from_errno(EINVAL, path);
  int fd = ::openat(dir, n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return from_errno(errno, path);
  return finish(fd, path, dir, n, expect);
}

std::string untrusted_path_reason(const std::string& path) {
  bool absolute = !path.empty() && path[0] == '/';
  UniqueFd dir(::open(absolute ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat dir_st {};
  if (!dir || ::fstat(dir.get(), &dir_st) != 0) return path + ": " + sdk::errno_text(errno);
  std::string shown = absolute ? "/" : ".";
  if (std::string w = untrusted_writer(dir_st); !w.empty()) return shown + " is " + w;
  std::deque<std::string> todo = components(path);
  int hops = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    std::string here = join(shown, name);
    UniqueFd fd(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return here + ": " + sdk::errno_text(errno);
    // Whoever may replace entries of the directory may replace this one.
    if (std::string w = untrusted_writer(dir_st); !w.empty())
      return shown + " (which holds " + name + ") is " + w;
    if (!trusted_owner(st.st_uid)) return here + " is owned by " + user_text(st.st_uid);
    if (S_ISLNK(st.st_mode)) {
      std::string target = read_link(dir.get(), name.c_str());
      if (++hops > kMaxLinkHops || target.empty()) return here + ": too many links";
      auto more = components(target);
      for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_front(*it);
      if (target[0] == '/') {
        dir.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir || ::fstat(dir.get(), &dir_st) != 0) return "/: " + sdk::errno_text(errno);
        shown = "/";
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (!todo.empty()) return here + ": " + sdk::errno_text(ENOTDIR);
      if (st.st_mode & S_IWOTH) return here + " is writable by everyone";
      if (st.st_mode & S_IWGRP) return here + " is writable by group " + group_text(st.st_gid);
      return {};
    }
    dir = std::move(fd);
    dir_st = st;
    shown = here;
  }
  // The path names a directory: it must not be changeable by others either.
  if (std::string w = untrusted_writer(dir_st); !w.empty()) return shown + " is " + w;
  return {};
}

BoundedRead read_up_to(int fd, size_t max) {
  BoundedRead r;
  r.data.resize(max);
  size_t have = 0;
  while (have < max) {
    ssize_t n = ::read(fd, r.data.data() + have, max - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r.error = errno;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  r.data.resize(have);
  if (have == max && r.error == 0) {
    char probe;
    ssize_t n;
    while ((n = ::read(fd, &probe, 1)) < 0 && errno == EINTR) {
    }
    r.truncated = n > 0;
  }
  return r;
}

int list_directory(int dir, std::vector<DirEntry>& entries) {
  int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return e;
  }
  int err = 0;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) {
      err = errno;
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    DirEntry entry;
    entry.name = e->d_name;
    if (::fstatat(::dirfd(d), e->d_name, &entry.st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    entries.push_back(std::move(entry));
  }
  ::closedir(d);
  return err;
}

namespace {

int walk_dir(int dir, const std::string& prefix, int depth,
             const std::function<bool(const WalkEntry&)>& visit,
             const std::function<bool()>& cancelled) {
  std::vector<DirEntry> entries;
  int first_error = list_directory(dir, entries);
  for (const auto& e : entries) {
    if (cancelled && cancelled()) return ECANCELED;
    std::string rel = prefix.empty() ? e.name : prefix + "/" + e.name;
    bool descend = visit(WalkEntry{rel, e.st, depth});
    if (!descend || !S_ISDIR(e.st.st_mode)) continue;
    if (depth >= kMaxWalkDepth) {
      if (!first_error) first_error = ELOOP;
      continue;
    }
    UniqueFd sub(::openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!sub || ::fstat(sub.get(), &st) != 0 || st.st_ino != e.st.st_ino ||
        st.st_dev != e.st.st_dev) {
      if (!first_error) first_error = sub ? ESTALE : errno;
      continue;
    }
    int err = walk_dir(sub.get(), rel, depth + 1, visit, cancelled);
    if (err == ECANCELED) return err;
    if (err && !first_error) first_error = err;
  }
  return first_error;
}

int remove_entries(int dir, int depth) {
  std::vector<DirEntry> entries;
  int first_error = list_directory(dir, entries);
  for (const auto& e : entries) {
    if (S_ISDIR(e.st.st_mode) && depth < kMaxWalkDepth) {
      UniqueFd sub(::openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) {
        int err = remove_entries(sub.get(), depth + 1);
        if (err && !first_error) first_error = err;
      }
      if (::unlinkat(dir, e.name.c_str(), AT_REMOVEDIR) != 0 && !first_error) first_error = errno;
    } else if (::unlinkat(dir, e.name.c_str(), 0) != 0 && !first_error) {
      first_error = errno;
    }
  }
  return first_error;
}

}  // namespace

int remove_tree(const std::string& path) {
  std::string parent = parent_of(path), name = base_of(path);
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno;
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir.get(), name.c_str(), 0) == 0 ? 0 : errno;
  UniqueFd top(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  int err = top ? remove_entries(top.get(), 1) : errno;
  if (::unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) != 0 && !err) err = errno;
  return err;
}

int walk_tree(int root, const std::function<bool(const WalkEntry&)>& visit,
              const std::function<bool()>& cancelled) {
  return walk_dir(root, "", 1, visit, cancelled);
}

}  // namespace backup_doctor::support
