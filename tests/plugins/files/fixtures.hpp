// Shared by the files plugin tests.
#pragma once

#include <backup_doctor/support/process.hpp>
#include "files_plugin.hpp"
#include "support/temp_dir.hpp"

#include <backup_doctor/testing.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <string>

namespace files_test {

using backup_doctor::sdk::Status;
using backup_doctor::test::TempDir;
using json = nlohmann::json;

inline backup_doctor::testing::Result run(const std::string& type, const json& params) {
  static backup_doctor::files::FilesPlugin plugin;
  auto r = backup_doctor::testing::run_check(plugin, type, params);
  INFO(type, " ", params.dump(), " -> ", r.summary, " | ", r.remediation, " | ", r.error);
  CHECK(r.rc == BD_RC_OK);
  return r;
}

// Sets the modification time to `seconds_ago` before now (utimensat, no shell).
inline void set_age(const std::filesystem::path& p, double seconds_ago) {
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  long long ns = static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec -
                 static_cast<long long>(seconds_ago * 1e9);
  struct timespec times[2];
  times[0] = times[1] = {static_cast<time_t>(ns / 1'000'000'000LL), ns % 1'000'000'000LL};
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

inline void set_mode(const std::filesystem::path& p, mode_t mode) {
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr const char* kTestUser = "backup-doctor-test";

}  // namespace files_test
