// The users an rsync check acts as: a `user` parameter resolved to ids (and refused when it
// cannot be used), and the account backup-doctor itself runs as.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <backup_doctor/support/process.hpp>

#include <optional>

namespace backup_doctor::rsync {

using nlohmann::json;

// The user named by `key`, or nothing when the parameter is absent. Throws CheckError when the
// user does not exist, or when switching to it needs root and we are not root.
std::optional<support::UserIds> user_param(const json& params, const char* key);

// The user this process runs as (for messages and access tests when no user is given).
support::UserIds current_user();

}  // namespace backup_doctor::rsync
