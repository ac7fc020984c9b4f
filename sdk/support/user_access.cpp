
#include <backup_doctor/support/user_access.hpp>
#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace backup_doctor::support {

AccessAnswer test_access_as(const UserIds& user, const std::string& path, Access what) {
  AccessAnswer answer;
  if (geteuid() != 0 && geteuid() != user.uid) {
    answer.tested = false;
    answer.reason = "testing access as '" + user.name + "' needs root (running as uid " +
                    std::to_string(geteuid()) + ")";
    return answer;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    answer.tested = false;
    answer.reason = std::string("pipe: ") + sdk::errno_text(errno);
    return answer;
  }
  // Looked up before fork: nothing in the child may allocate (it may be forked from a thread).
  const std::vector<gid_t> groups =
      geteuid() != user.uid ? supplementary_groups(user) : std::vector<gid_t>{};
  pid_t pid = fork();
  if (pid < 0) {
    answer.tested = false;
    answer.reason = std::string("fork: ") + sdk::errno_text(errno);
    return answer;
  }
  if (pid == 0) {
    close(fds[0]);
    int result = 0;  // errno of the attempt; 0 = allowed; -1 = could not switch user
    if (geteuid() != user.uid) {
      if (setgroups(groups.size(), groups.data()) != 0 || setgid(user.gid) != 0 ||
          setuid(user.uid) != 0)
        result = -1;
    }
    if (result == 0) {
      struct stat st {};
      if (stat(path.c_str(), &st) != 0) {
        result = errno;
      } else if (what == Access::read) {
        if (S_ISDIR(st.st_mode)) {
          int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOCTTY);  // opendir allocates
          if (fd < 0)
            result = errno;
          else
            close(fd);
        } else {
          int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
          if (fd < 0)
            result = errno;
          else
            close(fd);
        }
      } else {
        if (access(path.c_str(), what == Access::write ? W_OK : X_OK) != 0) result = errno;
      }
    }
    ssize_t ignored = write(fds[1], &result, sizeof result);
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  int result = -2;
  ssize_t n = read(fds[0], &result, sizeof result);
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof result) || result == -2) {
    answer.tested = false;
    answer.reason = "the access test process died";
  } else if (result == -1) {
    answer.tested = false;
    answer.reason = "could not switch to user '" + user.name + "'";
  } else if (result == 0) {
    answer.allowed = true;
  } else {
    answer.reason = sdk::errno_text(result);
  }
  return answer;
}

}  // namespace backup_doctor::support
