#include "private_file.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/sdk.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace backup_doctor::rsync {
namespace {

// The runner's scratch directory: ours, and nobody else may add to it.
bool private_dir(const char* dir) {
  struct stat st {};
  return dir != nullptr && dir[0] == '/' && ::lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
         st.st_uid == ::geteuid() && (st.st_mode & 0022) == 0;
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

PrivateFile::PrivateFile(const std::string& name, const std::string& content,
                         const std::optional<support::UserIds>& owner) {
  const char* tmpdir = std::getenv("TMPDIR");
  if (private_dir(tmpdir)) {
    dir_ = tmpdir;
  } else {
    std::string pattern = "/tmp/backup-doctor-rsync.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw sdk::CheckError(std::string("cannot create a private directory: ") +
                            sdk::errno_text(errno));
    ::chmod(pattern.c_str(), 0711);
    dir_ = pattern;
    own_dir_ = true;
  }
  path_ = dir_ + "/" + name;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  if (ok && owner && ::geteuid() != owner->uid) ok = ::fchown(fd, owner->uid, owner->gid) == 0;
  if (ok) ok = write_all(fd, content);
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    ::unlink(path_.c_str());
    if (own_dir_) ::rmdir(dir_.c_str());
    throw sdk::CheckError("cannot write the private file " + path_ + ": " + sdk::errno_text(err));
  }
}

PrivateFile::~PrivateFile() {
  ::unlink(path_.c_str());
  if (own_dir_) ::rmdir(dir_.c_str());
}

}  // namespace backup_doctor::rsync
