#include "common.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace backup_doctor::rsync {

std::string schema_with_durations(std::string_view schema,
                                  std::initializer_list<const char*> keys) {
  json j = json::parse(schema);
  for (const char* k : keys) j["properties"][k]["pattern"] = kDurationPattern;
  return j.dump();
}

std::chrono::milliseconds duration_param(const json& params, const char* key,
                                         const char* fallback) {
  std::string text = params.value(key, std::string(fallback));
  auto d = parse_duration(text);
  if (!d) throw sdk::CheckError(std::string("'") + key + "' is not a duration: '" + text + "'");
  return *d;
}

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

std::string shell_quote(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789@%+=:,./_-~") == std::string_view::npos)
    return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::vector<std::string> string_or_list(const json& params, const char* key) {
  std::vector<std::string> out;
  if (!params.contains(key)) return out;
  const json& v = params[key];
  if (v.is_string())
    out.push_back(v.get<std::string>());
  else if (v.is_array())
    for (const auto& item : v) out.push_back(item.get<std::string>());
  return out;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
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
