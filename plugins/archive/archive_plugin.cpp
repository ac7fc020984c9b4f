#include "archive_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::archive {

ArchivePlugin::ArchivePlugin()
    : Plugin("archive", "1.0.0",
             "Backup archives: one-pass integrity, checksum and damage report; archive vs "
             "source tree; restore space; leftovers of interrupted writes") {
  for (const auto& def :
       {verify_check(), compare_source_check(), restore_space_check(), leftovers_check()})
    add_check(def.type, def.summary, def.doc, def.schema, def.run);
}

}  // namespace backup_doctor::archive
