// Which archive a check looks at: a file, or the newest file in a directory whose name matches
// a glob ("/opt/backups/files" + "*.tar.gz", or "/opt/backups/files/*.tar.gz").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace backup_doctor::archive {

struct TargetSpec {
  std::string path;     // a file, a directory, or a directory/glob
  std::string pattern;  // glob for the directory case ("" → "*")
  // Names that are never picked as the newest archive: checksums, temporary files.
  std::vector<std::string> exclude = {"*.sha256",  "*.sha256sum", "*.md5", "*.tmp",
                                      "*.partial", "*.part",      ".*"};
};

struct Target {
  std::string path;                // the archive chosen; empty when none (see error)
  std::string directory, pattern;  // set when chosen from a directory
  uint64_t candidates = 0;         // files that matched the pattern
  std::string error;               // why nothing was chosen
  bool missing = false;            // the path or directory does not exist
};

Target resolve_target(const TargetSpec& spec);

bool has_glob(const std::string& s);

}  // namespace backup_doctor::archive
