// Runs the backup-doctor binary under test, as a user would, and captures what it says.
#pragma once

#include <backup_doctor/support/process.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace backup_doctor::test {

// The binary under test: this build's, or BD_SECURITY_TARGET (another build's backup-doctor,
// say one from before a fix, to show that tests/security's attacks succeed there).
inline std::string target_binary() {
  const char* other = std::getenv("BD_SECURITY_TARGET");
  return other && *other ? other : BD_TEST_BIN;
}

inline support::ProcessResult run_bd(std::vector<std::string> args,
                                     std::map<std::string, std::string> env = {},
                                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  args.insert(args.begin(), target_binary());
  support::ProcessOptions o;
  o.timeout = timeout;
  o.env = std::move(env);
  o.env.emplace("NO_COLOR", "1");
  // The sanitizer build's runtime options (scripts/sanitizer-env) reach the binary under test:
  // run_process passes an allow-listed environment only.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH"})
    if (const char* value = std::getenv(name)) o.env.emplace(name, value);
  return support::run_process(args, o);
}

// A checklist document with the given checks, as text.
inline std::string checklist_json(const nlohmann::json& checks,
                                  const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json doc{{"version", 1}, {"name", "test"}, {"checks", checks}};
  for (const auto& [k, v] : extra.items()) doc[k] = v;
  return doc.dump(2);
}

}  // namespace backup_doctor::test
