// Helpers shared by the rsync checks: check registration, users, findings collection (parameter
// and text helpers come from the SDK).
#pragma once

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/text.hpp>

#include "process.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::rsync {

using nlohmann::json;

// What a check registers with the plugin: kept as data so each check lives in its own file.
struct CheckSpec {
  std::string type;
  std::string summary;
  std::string doc;
  std::string schema;
  void (*run)(const json& params, sdk::Context& ctx);
};

CheckSpec paths_check();
CheckSpec dry_run_check();
CheckSpec remote_check();
CheckSpec open_files_check();

// From the SDK: parameter access, schema duration patterns, text for people.
using sdk::duration_param;
using sdk::human_size;
using sdk::shell_quote;
using sdk::string_list;  // "source": "/a/" or ["/a/", "/b/"]
using sdk::with_duration_patterns;

// The user named by `key`, or nothing when the parameter is absent. Throws CheckError when the
// user does not exist, or when switching to it needs root and we are not root.
std::optional<support::UserIds> user_param(const json& params, const char* key);

// The user this process runs as (for messages and access tests when no user is given).
support::UserIds current_user();

std::string group_name(gid_t gid);

// The first `max` items as a JSON array.
json capped(const std::vector<std::string>& items, size_t max);

// Collects problems found by one run and turns them into exactly one result: the worst status,
// the first problem as summary ("... (and 2 more problems)"), every remediation in order.
class Findings {
 public:
  void add(sdk::Status status, std::string summary, std::string remediation);
  bool empty() const { return items_.empty(); }
  sdk::Status worst() const;
  // Reports through ctx: `ok_summary` when nothing was added.
  void report(sdk::Context& ctx, std::string_view ok_summary, const json& details) const;

 private:
  struct Item {
    sdk::Status status;
    std::string summary, remediation;
  };
  std::vector<Item> items_;
};

// Severity order for combining statuses: ok < skipped < warn < error < fail.
int severity(sdk::Status s);

// Lets support::run_process poll a check's cancellation.
inline bool context_cancelled(void* ctx) {
  return static_cast<sdk::Context*>(ctx)->cancelled();
}

}  // namespace backup_doctor::rsync
