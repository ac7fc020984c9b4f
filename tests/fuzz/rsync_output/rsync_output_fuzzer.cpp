// What rsync prints for rsync.dry_run (`--dry-run --itemize-changes --stats --no-h`) and
// `rsync --version`: the other side's words (a remote rsync, or the file names of the tree being
// backed up, which its owner chose and rsync repeats in its lines and errors). The input is
// given to every parser, as stdout and as stderr.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rsync_output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backup_doctor::rsync;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  TransferStats stats = parse_stats(text);
  // dry_run_check's reading: the regular files, else every entry.
  if (stats.files) (void)stats.regular_files.value_or(*stats.files);

  Itemized items = parse_itemized(text);
  if (items.sent_files.size() > items.changed) std::abort();

  StderrReport report = parse_stderr(text);
  for (const auto& issue : report.issues)
    if (issue.kind.empty() || issue.message.empty()) std::abort();

  if (auto version = parse_version(text))
    if (version->version.empty() || version->protocol < 0) std::abort();
  return 0;
}
