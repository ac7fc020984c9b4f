#include "inspect.hpp"
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>

#include "file_facts.hpp"

#include <cerrno>
#include <cstring>

namespace backup_doctor::files {

using sdk::shell_quote;
using sdk::user_name;

namespace {

constexpr int kMaxHops = 40;  // as the kernel's own limit

std::string without_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Who other than root (or us) could have made or replaced the link `link_st`, found in the
// directory `dir`; "" when nobody could.
std::string link_maker(const struct stat& link_st, const std::string& dir) {
  auto parent = support::open_untrusted(dir, support::Expect::any);
  if (!parent) return "its directory " + dir + " could not be checked";
  if (!support::trusted_owner(link_st.st_uid))
    return "owned by " + user_name(link_st.st_uid) + " (uid " + std::to_string(link_st.st_uid) +
           ")";
  if (std::string w = support::untrusted_writer(parent.st); !w.empty())
    return "in " + dir + ", which is " + w;
  return {};
}

}  // namespace

std::string parent_path(const std::string& path) {
  std::string p = without_trailing_slashes(path);
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string Inspected::last_target() const {
  if (followed.empty()) return {};
  const std::string& f = followed.back();
  return f.substr(f.find(" -> ") + 4);
}

Inspected inspect(const std::string& path, bool follow_trusted_links) {
  Inspected in;
  in.path = path;
  std::string current = without_trailing_slashes(path);
  for (int hop = 0;; ++hop) {
    in.found = support::open_untrusted(current, support::Expect::any);
    if (!in.found || !S_ISLNK(in.found.st.st_mode) || !follow_trusted_links) break;
    std::string dir = parent_path(current);
    in.untrusted_link = link_maker(in.found.st, dir);
    if (!in.untrusted_link.empty()) break;
    const std::string target = in.found.link_target;
    if (hop >= kMaxHops || target.empty()) {
      in.found = support::SafeOpened{};
      in.found.refusal = support::Refusal::failed;
      in.found.error = ELOOP;
      in.found.where = current;
      in.found.message = current + ": " + sdk::errno_text(ELOOP);
      break;
    }
    in.followed.push_back(current + " -> " + target);
    current = target[0] == '/' ? target : (dir == "/" ? "/" : dir + "/") + target;
  }
  in.resolved = current;
  return in;
}

std::string link_not_followed(const Inspected& in) {
  return in.resolved + " is a symbolic link to " + in.found.link_target + " (" + in.untrusted_link +
         "); not followed";
}

std::string link_advice(const std::string& link, const std::string& target, const std::string& what,
                        const std::string& who) {
  return "backup-doctor runs as root and does not follow a link that another account could "
         "have made: it can point at any file on this host. If " +
         shell_quote(link) + " is meant to lead to " + what + ", point the check at " +
         shell_quote(target) +
         " itself, or have root own the link in a directory only root can change. If nobody "
         "made it on purpose, find out how it got there (" +
         (who.empty() ? std::string() : "it is " + who + "; ") + "ls -l " +
         shell_quote(parent_path(link)) + ") and remove it.";
}

std::string refusal_text(const support::SafeOpened& opened) {
  if (!opened.message.empty()) return opened.message;
  return opened.where + ": " + sdk::errno_text(opened.error);
}

}  // namespace backup_doctor::files
