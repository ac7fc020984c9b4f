#include "s3_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::s3 {

S3Plugin::S3Plugin()
    : Plugin("s3", "1.0.0",
             "Cloud backup storage over the S3 API: reachability, credentials, permissions, "
             "leftover uploads, object integrity, usage, redundancy and freshness") {
  for (auto make : {reachable_check, auth_check, permissions_check, multipart_leftovers_check,
                    object_matches_check, usage_check, redundancy_check, freshness_check}) {
    CheckDefinition d = make();
    add_check(d.type, d.summary, d.doc, d.schema, d.run);
  }
}

}  // namespace backup_doctor::s3
