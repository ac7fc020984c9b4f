// The s3 plugin: cloud backup storage diagnostics over libcurl (AWS and S3-compatible stores).
#pragma once

#include <backup_doctor/sdk.hpp>

namespace backup_doctor::s3 {

class S3Plugin : public sdk::Plugin {
 public:
  S3Plugin();
};

}  // namespace backup_doctor::s3
