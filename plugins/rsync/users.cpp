#include "users.hpp"

#include <unistd.h>

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

}  // namespace backup_doctor::rsync
