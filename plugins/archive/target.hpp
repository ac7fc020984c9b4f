// Which archive a check looks at: a file, or the newest file in a directory whose name matches
// a glob ("/opt/backups/files" + "*.tar.gz", or "/opt/backups/files/*.tar.gz"). Backup
// directories belong to the backup account, so nothing is followed or opened that it could
// have planted there: the directory is listed with lstat facts, only regular files are
// candidates, and the chosen one is opened relative to the listed directory through
// support::open_untrusted_at (never a link, a FIFO or a device). Checksum files, temporary files
// and dot files are never chosen unless the pattern asks for them (TargetSpec::exclude).
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <backup_doctor/sdk.hpp>

#include <cstdint>
#include <optional>
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

// A matching name in the directory that is not a regular file: never a candidate.
struct NotConsidered {
  std::string path, type, link_target;
  int64_t mtime = 0;  // of the entry itself (lstat)
};

struct Target {
  // The archive chosen; empty when none (see error). When set, `file` is it opened for reading,
  // or its refusal (a link, a FIFO, a device, a hard link to another account's file...).
  std::string path;
  support::SafeOpened file;
  std::string directory, pattern;             // set when chosen from a directory
  uint64_t candidates = 0;                    // regular files that matched the pattern
  std::string error;                          // why nothing was chosen
  bool missing = false;                       // the path or directory does not exist
  std::vector<NotConsidered> not_considered;  // at most 10
  // The newest FIFO, socket or device that matched and is newer than the chosen archive.
  std::optional<NotConsidered> newer_odd_entry;

  bool usable() const { return !path.empty() && static_cast<bool>(file); }
};

// The target a check's `path` and `pattern` parameters name (sdk::target_path_schema()).
TargetSpec target_spec(const nlohmann::json& params);

Target resolve_target(const TargetSpec& spec);

// What to do about an archive or checksum file that open_untrusted refused, where `what` names
// it ("the archive", "the checksum file").
std::string refusal_advice(const support::SafeOpened& refused, const std::string& path,
                           const std::string& what);

// The result a check gives when resolve_target found nothing usable: `none` is its own
// summary prefix ("no archive to verify"), `remediation` what it says when nothing matched.
// Returns false when the target is usable and the check goes on.
bool report_unusable(const Target& target, const std::string& none, const std::string& remediation,
                     nlohmann::json details, sdk::Context& ctx);

// Opens a directory that the checklist names (a source tree, a backup directory, a restore
// target). Links before the last component follow open_untrusted's rule; the last component,
// when it is a link, is followed only when root (or the user we run as) made it in a directory
// only such users can change.
support::SafeOpened open_named_directory(const std::string& path);

}  // namespace backup_doctor::archive
