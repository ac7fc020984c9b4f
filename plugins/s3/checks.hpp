// One definition per check type; s3_plugin.cpp registers them all.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <string>

namespace backup_doctor::s3 {

struct CheckDefinition {
  std::string type, summary, doc, schema;
  sdk::CheckFunction run;
};

CheckDefinition reachable_check();
CheckDefinition auth_check();
CheckDefinition permissions_check();
CheckDefinition multipart_leftovers_check();
CheckDefinition object_matches_check();
CheckDefinition usage_check();
CheckDefinition redundancy_check();
CheckDefinition freshness_check();

}  // namespace backup_doctor::s3
