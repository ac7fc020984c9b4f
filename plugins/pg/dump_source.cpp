#include "dump_source.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace backup_doctor::pg {

namespace {

OpenedDump from_safe(support::SafeOpened&& s, const std::string& path) {
  OpenedDump out;
  out.refusal = s.refusal;
  out.message = s.message;
  out.link_target = s.link_target;
  out.type = s.st.st_mode & S_IFMT;
  if (s) out.dump = DumpSource{path, std::move(s.fd), s.st};
  return out;
}

bool newer(const struct stat& a, const struct stat& b) {
  if (a.st_mtim.tv_sec != b.st_mtim.tv_sec) return a.st_mtim.tv_sec > b.st_mtim.tv_sec;
  return a.st_mtim.tv_nsec > b.st_mtim.tv_nsec;
}

}  // namespace

support::UniqueFd DumpSource::reopen() const {
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (is_directory() ? O_DIRECTORY : 0);
  support::UniqueFd again(::open(proc.c_str(), flags));
  struct stat st {};
  if (!again || ::fstat(again.get(), &st) != 0 || st.st_ino != this->st.st_ino ||
      st.st_dev != this->st.st_dev)
    return support::UniqueFd();
  return again;
}

OpenedDump open_dump(const std::string& path) {
  // Looked at first without opening anything for reading, to know which kind to open.
  support::SafeOpened probe = support::open_untrusted(path, support::Expect::any);
  if (!probe || S_ISLNK(probe.st.st_mode)) {
    if (probe && S_ISLNK(probe.st.st_mode))
      probe = support::open_untrusted(path, support::Expect::regular);  // the refusal text
    return from_safe(std::move(probe), path);
  }
  auto expect = S_ISDIR(probe.st.st_mode) ? support::Expect::directory : support::Expect::regular;
  return from_safe(support::open_untrusted(path, expect), path);
}

PickedDump pick_newest(const std::string& dir, const std::string& pattern) {
  PickedDump out;
  support::SafeOpened d = support::open_untrusted(dir, support::Expect::directory);
  if (!d) {
    out.dir_refusal = d.refusal;
    out.dir_error = d.message;
    return out;
  }
  std::vector<support::DirEntry> entries;
  if (int err = support::list_directory(d.fd.get(), entries); err != 0) {
    out.dir_refusal = support::Refusal::failed;
    out.dir_error = dir + ": " + sdk::errno_text(err);
    return out;
  }
  const support::DirEntry* best = nullptr;
  for (const auto& e : entries) {
    if (fnmatch(pattern.c_str(), e.name.c_str(), 0) != 0) continue;
    ++out.matches;
    if (!best || newer(e.st, best->st)) best = &e;
  }
  if (!best) return out;
  out.name = best->name;
  std::string path = dir + (dir.ends_with('/') ? "" : "/") + best->name;
  auto expect = S_ISDIR(best->st.st_mode) ? support::Expect::directory : support::Expect::regular;
  out.opened = from_safe(support::open_untrusted_at(d.fd.get(), dir, best->name, expect), path);
  return out;
}

unsigned long long dump_size(const DumpSource& dump) {
  if (!dump.is_directory()) return static_cast<unsigned long long>(dump.st.st_size);
  std::vector<support::DirEntry> entries;
  if (support::list_directory(dump.fd.get(), entries) != 0) return 0;
  unsigned long long total = 0;
  for (const auto& e : entries)
    if (S_ISREG(e.st.st_mode)) total += static_cast<unsigned long long>(e.st.st_size);
  return total;
}

}  // namespace backup_doctor::pg
