// Parsing what `rsync --dry-run --itemize-changes --stats` prints (run with LC_ALL=C, --no-h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::rsync {

// The --stats block. Absent fields were not printed (rsync died before its summary).
struct TransferStats {
  std::optional<uint64_t> files;              // "Number of files" (every entry)
  std::optional<uint64_t> regular_files;      // its "(reg: N, ...)" part
  std::optional<uint64_t> created_files;      // "Number of created files"
  std::optional<uint64_t> deleted_files;      // "Number of deleted files"
  std::optional<uint64_t> transferred_files;  // "Number of regular files transferred"
  std::optional<uint64_t> total_size;         // "Total file size"
  std::optional<uint64_t> transferred_size;   // "Total transferred file size"
};

TransferStats parse_stats(std::string_view out);

// The --itemize-changes lines.
struct Itemized {
  std::vector<std::string> sent_files;  // regular files whose data would move
  uint64_t changed = 0;                 // every itemized entry except deletions
  uint64_t deletions = 0;
};

Itemized parse_itemized(std::string_view out);

// One complaint rsync printed on stderr about a path.
struct PathIssue {
  std::string kind;  // permission_denied, not_permitted, missing, vanished, no_space, ...
  std::string path;
  std::string message;  // the line as rsync printed it
};

struct StderrReport {
  std::vector<PathIssue> issues;
  std::vector<std::string> other_lines;  // error lines that name no path
  std::string rsync_error_line;          // the final "rsync error: ... (code N)" line
};

StderrReport parse_stderr(std::string_view err);

// "rsync  version 3.2.7  protocol version 31" -> {"3.2.7", 31}
struct RsyncVersion {
  std::string version;
  int protocol = 0;
};
std::optional<RsyncVersion> parse_version(std::string_view version_output);

}  // namespace backup_doctor::rsync
