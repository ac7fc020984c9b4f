#include "common.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace backup_doctor::rsync {

std::optional<support::UserIds> user_param(const json& params, const char* key) {
  if (!params.contains(key) || params[key].get<std::string>().empty()) return std::nullopt;
  std::string name = params[key].get<std::string>();
  auto user = support::lookup_user(name);
  if (!user) throw sdk::CheckError(std::string("'") + key + "': there is no user '" + name + "'");
  if (geteuid() != 0 && geteuid() != user->uid)
    throw sdk::CheckError("acting as user '" + name + "' needs root; backup-doctor runs as uid " +
                          std::to_string(geteuid()));
  return user;
}

support::UserIds current_user() {
  auto user = support::lookup_user(std::to_string(geteuid()));
  if (user) return *user;
  return support::UserIds{std::to_string(geteuid()), geteuid(), getegid(), ""};
}

std::string group_name(gid_t gid) {
  std::vector<char> buf(16384);
  struct group gr {};
  struct group* found = nullptr;
  getgrgid_r(gid, &gr, buf.data(), buf.size(), &found);
  return found ? std::string(found->gr_name) : std::to_string(gid);
}

json capped(const std::vector<std::string>& items, size_t max) {
  json out = json::array();
  for (size_t i = 0; i < items.size() && i < max; ++i) out.push_back(items[i]);
  return out;
}

int severity(sdk::Status s) {
  switch (s) {
    case sdk::Status::ok:
      return 0;
    case sdk::Status::skipped:
      return 1;
    case sdk::Status::warn:
      return 2;
    case sdk::Status::error:
      return 3;
    case sdk::Status::fail:
      return 4;
  }
  return 0;
}

void Findings::add(sdk::Status status, std::string summary, std::string remediation) {
  items_.push_back(Item{status, std::move(summary), std::move(remediation)});
}

sdk::Status Findings::worst() const {
  sdk::Status w = sdk::Status::ok;
  for (const auto& i : items_)
    if (severity(i.status) > severity(w)) w = i.status;
  return w;
}

void Findings::report(sdk::Context& ctx, std::string_view ok_summary, const json& details) const {
  if (items_.empty()) {
    ctx.ok(ok_summary, details);
    return;
  }
  // The summary leads with the most severe problem; remediation lists every fix in order.
  sdk::Status w = worst();
  auto first =
      std::find_if(items_.begin(), items_.end(), [&](const Item& i) { return i.status == w; });
  std::string summary = first->summary;
  if (items_.size() > 1)
    summary += " (and " + std::to_string(items_.size() - 1) + " more problem" +
               (items_.size() > 2 ? "s" : "") + ")";
  std::string remediation;
  for (const auto& i : items_) {
    if (i.remediation.empty()) continue;
    if (!remediation.empty()) remediation += "\n";
    remediation += (items_.size() > 1 ? "- " : "") + i.remediation;
  }
  ctx.report(w, summary, remediation, details);
}

}  // namespace backup_doctor::rsync
