// Opening files and directories that a less-privileged user may control (docs/security.md).
//
// backup-doctor usually runs as root over directories the backup account owns. Every open of
// data on such a path goes through here, so that nothing that account can write makes us read
// what it could not read, block on a FIFO, or open a device:
//   - the last component of a path is never followed when it is a symbolic link: the link is
//     reported as such;
//   - a link earlier in the path is followed only when a trusted owner (root, or the user we run
//     as) made it in a directory that only trusted owners can change (/var/run -> /run, a
//     checklist author's own link); any other link is refused, naming it;
//   - the object is first opened O_PATH and its type checked on the descriptor, so a FIFO or a
//     device is never opened for reading (no hang, no side effect of opening a tape drive);
//   - data is read with O_NONBLOCK|O_NOCTTY|O_CLOEXEC and O_NOATIME where permitted;
//   - a hard link to a file that the directory's untrusted writer could not read is refused (the
//     kernel's fs.protected_hardlinks=1 prevents such links too, where it is set).
// openat2(RESOLVE_NO_SYMLINKS) resolves the common case (no link at all) in one call; paths with
// links are walked one component at a time with O_PATH|O_NOFOLLOW.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::support {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

enum class Expect {
  regular,    // a regular file, opened for reading
  directory,  // a directory, opened for listing (O_RDONLY|O_DIRECTORY)
  any,        // anything, including a symbolic link itself: an O_PATH descriptor to inspect
};

enum class Refusal {
  none,
  missing,         // no such file or directory (ENOENT, ENOTDIR)
  symlink,         // the last component is a symbolic link (never followed)
  untrusted_link,  // an earlier component is a link that an untrusted user could have made
  wrong_type,      // a FIFO, socket, device, or a directory where a file is expected, ...
  hard_link,       // a hard link to a file its directory's untrusted writer cannot read
  denied,          // EACCES, EPERM
  failed,          // any other error (see `error`)
};

struct SafeOpened {
  UniqueFd fd;
  struct stat st {};  // of the last component (of the link itself when it is one)
  Refusal refusal = Refusal::none;
  int error = 0;            // errno behind `refusal` (0 for type and trust refusals)
  std::string where;        // the path component the refusal is about
  std::string link_target;  // what a refused (or, with Expect::any, returned) link points to
  std::string message;      // one line for people: "X is a symbolic link to Y; not followed"

  explicit operator bool() const { return refusal == Refusal::none; }
};

// Opens `path` (absolute, or relative to the working directory) as described above.
SafeOpened open_untrusted(const std::string& path, Expect expect = Expect::regular);

// Opens the entry `name` (one component, no '/') of the directory `dir` (any descriptor to it,
// O_PATH included), never following a link. `dir_path` is only used in messages.
SafeOpened open_untrusted_at(int dir, const std::string& dir_path, std::string_view name,
                             Expect expect = Expect::regular);

// What read_up_to() read from a descriptor open_untrusted() returned.
struct BoundedRead {
  std::string data;        // at most `max` bytes, from the descriptor's current offset
  bool truncated = false;  // there was more than `max`
  int error = 0;           // errno of a failed read; `data` holds what came before it
};

// Reads at most `max` bytes: whatever the file's owner makes it grow to, memory stays bounded.
BoundedRead read_up_to(int fd, size_t max);

// The type word used in messages: "regular file", "directory", "symbolic link", "FIFO",
// "socket", "block device", "character device".
std::string file_type_word(mode_t mode);

// Owners we trust: root and the user we run as.
bool trusted_owner(uid_t uid);

// Why a non-trusted user can change entries of this directory (it is theirs and writable, or
// group/world-writable without the sticky bit), or "" when only trusted owners can.
std::string untrusted_writer(const struct stat& dir);

// Why `path` (a file or directory) could be replaced or changed by a non-trusted user: it, a
// directory above it, or a link on the way is owned by one or writable by one. "" when only
// trusted owners can change it. Links on the way are followed (each link must be trusted too).
std::string untrusted_path_reason(const std::string& path);

// Entries of an open directory, without "." and "..": name and lstat facts. Never follows a link.
struct DirEntry {
  std::string name;
  struct stat st {};
};
// Fills `entries`; returns 0 or the errno of the failure.
int list_directory(int dir, std::vector<DirEntry>& entries);

// Walks the tree under `root` (a directory opened with open_untrusted) depth-first, opening each
// subdirectory with O_NOFOLLOW relative to its parent, so that a directory swapped for a link
// during the walk is never entered. `visit` gets the path relative to the root and lstat facts;
// returning false from it for a directory skips its contents. Returns the first error that
// stopped a directory from being read (the walk carries on), or 0.
struct WalkEntry {
  std::string relative;  // "a/b.txt"
  const struct stat& st;
  int depth;  // 1 for entries of the root
};
int walk_tree(int root, const std::function<bool(const WalkEntry&)>& visit,
              const std::function<bool()>& cancelled = {});

// Removes `path` and everything under it without following a link anywhere below it (each
// directory is opened O_NOFOLLOW relative to its parent, so one swapped for a link is removed
// as a link). Returns 0 or the first errno.
int remove_tree(const std::string& path);

}  // namespace backup_doctor::support
