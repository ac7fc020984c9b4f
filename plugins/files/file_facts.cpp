#include "file_facts.hpp"
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace backup_doctor::files {

using nlohmann::json;
using sdk::group_name;
using sdk::iso_time;
using sdk::user_name;

std::string mode_string(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string mode_symbolic(mode_t mode) {
  std::string s = "----------";
  if (S_ISDIR(mode))
    s[0] = 'd';
  else if (S_ISLNK(mode))
    s[0] = 'l';
  else if (S_ISFIFO(mode))
    s[0] = 'p';
  else if (S_ISSOCK(mode))
    s[0] = 's';
  else if (S_ISBLK(mode))
    s[0] = 'b';
  else if (S_ISCHR(mode))
    s[0] = 'c';
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400 >> i)) s[1 + i] = rwx[i];
  if (mode & S_ISUID) s[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & S_IXOTH) ? 't' : 'T';
  return s;
}

std::optional<mode_t> parse_mode(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  mode_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<mode_t>(c - '0');
  }
  if (value > 07777) return std::nullopt;
  return value;
}

std::string symbolic_bits(mode_t bits, char op) {
  std::string out;
  const struct {
    char who;
    mode_t r, w, x;
  } classes[] = {{'u', 0400, 0200, 0100}, {'g', 040, 020, 010}, {'o', 04, 02, 01}};
  for (const auto& c : classes) {
    std::string perms;
    if (bits & c.r) perms += 'r';
    if (bits & c.w) perms += 'w';
    if (bits & c.x) perms += 'x';
    if (perms.empty()) continue;
    if (!out.empty()) out += ',';
    out += c.who;
    out += op;
    out += perms;
  }
  if (bits & S_ISUID) out += std::string(out.empty() ? "" : ",") + "u" + op + "s";
  if (bits & S_ISGID) out += std::string(out.empty() ? "" : ",") + "g" + op + "s";
  if (bits & S_ISVTX) out += std::string(out.empty() ? "" : ",") + op + "t";
  return out;
}

std::string type_name(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISCHR(mode)) return "char device";
  return "unknown";
}

std::optional<gid_t> lookup_group(const std::string& name_or_id) {
  struct group gr {};
  struct group* found = nullptr;
  std::vector<char> buf(65536);
  getgrnam_r(name_or_id.c_str(), &gr, buf.data(), buf.size(), &found);
  if (found) return found->gr_gid;
  if (!name_or_id.empty() && name_or_id.find_first_not_of("0123456789") == std::string::npos) {
    gid_t gid = static_cast<gid_t>(std::stoul(name_or_id));
    getgrgid_r(gid, &gr, buf.data(), buf.size(), &found);
    if (found) return gid;
  }
  return std::nullopt;
}

std::vector<gid_t> user_groups(const std::string& name, gid_t primary) {
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  while (getgrouplist(name.c_str(), primary, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 16);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

double mtime_seconds(const struct stat& st) {
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

json stat_details(const struct stat& st) {
  return json{{"type", type_name(st.st_mode)},
              {"mode", mode_string(st.st_mode)},
              {"permissions", mode_symbolic(st.st_mode)},
              {"owner", user_name(st.st_uid)},
              {"uid", st.st_uid},
              {"group", group_name(st.st_gid)},
              {"gid", st.st_gid},
              {"size", static_cast<uintmax_t>(st.st_size)},
              {"mtime", iso_time(mtime_seconds(st))}};
}

// Only whether each parent exists is learnt (lstat: a link counts as existing and is not
// followed at the end; earlier components resolve as the kernel resolves them). That much is
// harmless to say about a path another account controls.
std::string nearest_existing_ancestor(const std::string& path) {
  std::string p = path;
  while (!p.empty()) {
    auto slash = p.find_last_of('/');
    if (slash == std::string::npos) return ".";
    p = slash == 0 ? "/" : p.substr(0, slash);
    struct stat st {};
    if (lstat(p.c_str(), &st) == 0) return p;
    if (p == "/") break;
  }
  return "/";
}

}  // namespace backup_doctor::files
