// A secret handed to a program in a file instead of its environment or command line: created
// in the check's private scratch directory ($TMPDIR, root's, mode 0711: the program's user can
// open a file in it by name but not list it), mode 0600, owned by the user the program runs as,
// and removed when this object goes. Outside the runner (tests) a private directory like it is
// made under /tmp and removed too.
#pragma once

#include <backup_doctor/support/process.hpp>

#include <optional>
#include <string>

namespace backup_doctor::rsync {

class PrivateFile {
 public:
  // Throws sdk::CheckError when the file cannot be created.
  PrivateFile(const std::string& name, const std::string& content,
              const std::optional<support::UserIds>& owner);
  ~PrivateFile();
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  bool own_dir_ = false;
  std::string path_;
};

}  // namespace backup_doctor::rsync
