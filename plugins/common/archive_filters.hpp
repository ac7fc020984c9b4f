// libarchive's decompression filters that decode in-process, for every plugin that decompresses
// files another account wrote (archives, plain SQL dumps, rotated audit logs).
//
// archive_read_support_filter_all() also enables lrzip and grzip (always an external program),
// lzop, and any filter whose library libarchive was built without: libarchive would then spawn
// that decompressor, found on PATH, as root over the other account's bytes. It bids again on
// each filter's output, so a gzip stream holding an lrzip header is enough. Header-only: only
// the plugins that use libarchive include it, and link it.
#pragma once

#include <archive.h>

#include <vector>

namespace backup_doctor::support {

// Enables on `a` every filter whose registration returns ARCHIVE_OK (decoded by a linked
// library); the others are never enabled, and a stream that needs one is unreadable.
inline void support_in_process_filters(struct archive* a) {
  using SupportFilter = int (*)(struct archive*);
  static const std::vector<SupportFilter> filters = [] {
    std::vector<SupportFilter> out;
    for (SupportFilter f : {archive_read_support_filter_bzip2, archive_read_support_filter_compress,
                            archive_read_support_filter_gzip, archive_read_support_filter_lz4,
                            archive_read_support_filter_lzip, archive_read_support_filter_lzma,
                            archive_read_support_filter_xz, archive_read_support_filter_zstd,
                            archive_read_support_filter_lzop, archive_read_support_filter_grzip,
                            archive_read_support_filter_lrzip, archive_read_support_filter_uu,
                            archive_read_support_filter_rpm}) {
      struct archive* probe = archive_read_new();
      if (f(probe) == ARCHIVE_OK) out.push_back(f);
      archive_read_free(probe);
    }
    return out;
  }();
  for (SupportFilter f : filters) f(a);
}

}  // namespace backup_doctor::support
