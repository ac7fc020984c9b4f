#include "s3_plugin.hpp"

#include "checks.hpp"

namespace backup_doctor::s3 {

S3Plugin::S3Plugin()
    : Plugin("s3", "1.0.0",
             "Cloud backup storage over the S3 API: reachability, credentials, permissions, "
             "leftover uploads, object integrity, usage, redundancy and freshness") {
  add(reachable_check());
  add(auth_check());
  add(permissions_check());
  add(multipart_leftovers_check());
  add(object_matches_check());
  add(usage_check());
  add(redundancy_check());
  add(freshness_check());
}

}  // namespace backup_doctor::s3
