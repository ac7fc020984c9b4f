// Expanding a glob ("/var/log/backup/*.log", "/srv/*/logs/db.log") over directories another
// account may write, without following a link or opening anything but directories: each
// directory is listed with lstat facts (support::list_directory), names are matched with
// fnmatch (a leading '.' only by a pattern that starts with one, as glob(3) does), and only real
// directories are entered, each opened relative to its parent with O_NOFOLLOW. A link met on the
// way is reported, never entered; a link that matches is returned as a link, for the caller to
// report.
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <memory>
#include <string>
#include <vector>

namespace backup_doctor::files {

struct GlobMatch {
  std::string path;
  std::shared_ptr<const support::UniqueFd> dir;  // the directory that holds it, open
  std::string dir_path;
  std::string name;
  struct stat st {};  // lstat facts
};

struct GlobSkip {
  std::string path;
  std::string reason;  // "is a symbolic link to /etc; not followed"
};

struct GlobResult {
  std::vector<GlobMatch> matches;  // sorted by path
  std::vector<GlobSkip> skipped;   // links and unreadable directories met on the way
  std::string error;  // the part before the first wildcard could not be opened (not: missing)
};

GlobResult expand_glob(const std::string& pattern);

}  // namespace backup_doctor::files
