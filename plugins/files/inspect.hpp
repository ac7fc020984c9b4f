// Looking at a path that the backup account may control, without following anything it could
// have made (docs/security.md). Links earlier in the path follow open_untrusted()'s rule; the
// last component, when it is a link, is followed only when asked to and only when root (or the
// user we run as) made it in a directory that nobody else can change.
#pragma once

#include <backup_doctor/support/safe_open.hpp>

#include <string>
#include <vector>

namespace backup_doctor::files {

struct Inspected {
  // An O_PATH descriptor to what was found (a link itself when it was not followed) with its
  // lstat facts; or the refusal (missing, untrusted_link, denied, failed).
  support::SafeOpened found;
  std::string path;      // as asked
  std::string resolved;  // after the trusted links that were followed (== path when none)
  std::vector<std::string> followed;  // "link -> target" for each trusted link followed
  // Set when `found` is a link that was not followed although following was asked for: who
  // could have made or replaced it ("owned by backup (uid 34)", "its directory is writable by
  // everyone").
  std::string untrusted_link;

  explicit operator bool() const { return static_cast<bool>(found); }
  bool is_link() const { return found && S_ISLNK(found.st.st_mode); }
  // The target of the last link followed (for "points to X, which does not exist").
  std::string last_target() const;
};

Inspected inspect(const std::string& path, bool follow_trusted_links);

// "X is a symbolic link to Y (owned by Z); not followed" for a link inspect() did not follow.
std::string link_not_followed(const Inspected& in);

// What to do about a link the backup account could have made, where `what` names what the
// check wanted to look at ("the backup directory", "the log") and `who` who could have made it
// ("owned by backup (uid 34)"; "" when not known).
std::string link_advice(const std::string& link, const std::string& target, const std::string& what,
                        const std::string& who = {});

// The first line of a refusal of open_untrusted, for summaries: its message, or strerror.
std::string refusal_text(const support::SafeOpened& opened);

// The directory part of a path ("/a/b" for "/a/b/c", "." for "c", "/" for "/c").
std::string parent_path(const std::string& path);

}  // namespace backup_doctor::files
