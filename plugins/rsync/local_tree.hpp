// Local directories the rsync checks read as root (a source to measure or scan, a destination
// rsync would list): opened through support::open_untrusted, so that a link on the way is
// followed only when root (or the user we run as) made it where nobody else could, and the
// directory itself may be such a trusted link too (rsync follows a source given with a trailing
// slash, and the destination). A link the backup account made is never followed.
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <string>

namespace backup_doctor::rsync {

struct OpenedTree {
  support::UniqueFd fd;   // O_RDONLY|O_DIRECTORY, when opened
  std::string real_path;  // where it really is (links resolved)
  bool missing = false;   // it does not exist (not a refusal)
  support::Refusal kind = support::Refusal::none;
  std::string refusal;  // why it was not opened: "X is a symbolic link to Y (owned by ...)"

  explicit operator bool() const { return static_cast<bool>(fd); }
};

OpenedTree open_tree(const std::string& path);

// The same check for a path rsync itself will open as root: "" when rsync may use it (it
// exists and is safe, or does not exist), else why not. `follow_last`: rsync follows the
// path when it is a link (a destination, a source with a trailing slash).
std::string tree_risk(const std::string& path, bool follow_last);

// "/a/b/" -> "/a/b", "/" stays "/".
std::string without_trailing_slash(std::string path);

}  // namespace backup_doctor::rsync
