// Shared assertions of the s3 tests.
#pragma once

#include "servers.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/testing.hpp>

#include <string>

namespace s3test {

// Everything a result carries, as one string.
inline std::string all_output(const backup_doctor::testing::Result& r) {
  std::string all = r.summary + "\n" + r.remediation + "\n" + r.details.dump() + "\n" + r.error;
  for (const auto& l : r.logs) all += "\n" + l;
  for (const auto& m : r.metrics) all += "\n" + m.name + m.labels.dump();
  return all;
}

// The secret key (and any extra secrets) never appear in anything a check emits.
inline void check_no_secret(const backup_doctor::testing::Result& r,
                            const std::string& extra_secret = {}) {
  std::string all = all_output(r);
  CHECK_MESSAGE(all.find(kTestSecret) == std::string::npos, all);
  if (!extra_secret.empty()) CHECK_MESSAGE(all.find(extra_secret) == std::string::npos, all);
}

inline const char* status_name(backup_doctor::sdk::Status s) {
  switch (s) {
    case backup_doctor::sdk::Status::ok:
      return "ok";
    case backup_doctor::sdk::Status::warn:
      return "warn";
    case backup_doctor::sdk::Status::fail:
      return "fail";
    case backup_doctor::sdk::Status::error:
      return "error";
    case backup_doctor::sdk::Status::skipped:
      return "skipped";
  }
  return "?";
}

}  // namespace s3test

#define CHECK_STATUS(result, expected)                                                  \
  CHECK_MESSAGE((result).status == backup_doctor::sdk::Status::expected,                \
                (std::string("status ") + s3test::status_name((result).status) + ": " + \
                 s3test::all_output(result)))
