// Facts about the system, in the form messages want them: errno as words, user and group names,
// the current time. POSIX only; every bundled plugin uses these, so names and numbers read the
// same in every check's report.
#pragma once

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::sdk {

// "No such file or directory".
inline std::string errno_text(int err) {
  char buf[256];
  // The GNU strerror_r returns its text (maybe not in buf); the XSI one fills buf.
  auto text = [&](auto result) -> std::string {
    if constexpr (std::is_same_v<decltype(result), char*>)
      return result;
    else
      return result == 0 ? std::string(buf) : "error " + std::to_string(err);
  };
  return text(strerror_r(err, buf, sizeof buf));
}

// Seconds since the epoch, with a fraction.
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Whether a path holds glob characters (*, ? or [), i.e. names a pattern rather than a file.
inline bool has_glob(std::string_view path) {
  return path.find_first_of("*?[") != std::string_view::npos;
}

namespace detail {
// Calls a getpw*_r / getgr*_r style lookup with a buffer that grows on ERANGE.
template <typename Entry, typename Lookup>
bool lookup_entry(Entry& entry, std::vector<char>& buf, Lookup lookup) {
  buf.resize(4096);
  for (;;) {
    Entry* found = nullptr;
    int rc = lookup(&entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}
}  // namespace detail

// The name of the user with this uid, if there is one (the buffer grows as a long entry needs).
inline std::optional<std::string> find_user_name(uid_t uid) {
  struct passwd pw {};
  std::vector<char> buf;
  if (detail::lookup_entry(pw, buf, [&](passwd* e, char* b, size_t n, passwd** out) {
        return getpwuid_r(uid, e, b, n, out);
      }))
    return std::string(pw.pw_name);
  return std::nullopt;
}

// The name of the group with this gid, if there is one.
inline std::optional<std::string> find_group_name(gid_t gid) {
  struct group gr {};
  std::vector<char> buf;
  if (detail::lookup_entry(gr, buf, [&](group* e, char* b, size_t n, group** out) {
        return getgrgid_r(gid, e, b, n, out);
      }))
    return std::string(gr.gr_name);
  return std::nullopt;
}

// The user's name, or the number when no user has it.
inline std::string user_name(uid_t uid) { return find_user_name(uid).value_or(std::to_string(uid)); }

// The group's name, or the number when no group has it.
inline std::string group_name(gid_t gid) {
  return find_group_name(gid).value_or(std::to_string(gid));
}

}  // namespace backup_doctor::sdk
