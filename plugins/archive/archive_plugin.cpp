#include "archive_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::archive {

ArchivePlugin::ArchivePlugin()
    : Plugin("archive", "1.0.0",
             "Backup archives: one-pass integrity, checksum and damage report; archive vs "
             "source tree; restore space; leftovers of interrupted writes") {
  add(verify_check());
  add(compare_source_check());
  add(restore_space_check());
  add(leftovers_check());
}

}  // namespace backup_doctor::archive
