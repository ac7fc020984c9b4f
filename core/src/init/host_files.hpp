// The host `init` reads: its files under a root directory (`/`, or a sandbox with --root), read
// through the safe-open primitive (crontabs, units and scripts may belong to the backup account)
// and bounded in size.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::init {

class HostFiles {
 public:
  explicit HostFiles(std::string root);

  // The text of the host's file `path` (absolute, as the host sees it), or nothing, with why in
  // `why` ("missing", or the safe-open refusal for people).
  std::optional<std::string> read(const std::string& path, std::string* why = nullptr) const;
  // Names in the host directory `path` (sorted; empty when it is missing or unreadable).
  std::vector<std::string> list(const std::string& path) const;
  bool is_file(const std::string& path) const;
  bool is_executable(const std::string& path) const;
  // Whether whoever owns `named_in` (the script that names `path`) could write `path`: root
  // can; another owner only a file of theirs, of their group or anyone's with the write bit
  // set. A missing `path` is one the job would create; true.
  bool owner_can_write(const std::string& path, const std::string& named_in) const;
  // The same for reading: a script the backup account owns that sources /root/.pgpass must not
  // make init, as root, read it for that account (into the checklist, as the "programs" in it).
  bool owner_can_read(const std::string& path, const std::string& named_in) const;
  // `program` looked up in the colon-separated `search_path`, as the host would; "" when absent.
  std::string which(const std::string& program, const std::string& search_path) const;
  // user -> home directory, from the host's /etc/passwd.
  std::vector<std::pair<std::string, std::string>> homes() const;

  const std::string& root() const { return root_; }

 private:
  std::string on_disk(const std::string& path) const;
  bool owner_may(const std::string& path, const std::string& named_in, mode_t user_bit) const;
  std::string root_;  // "" for "/"
  // What init has read so far: the backup account's files can make it read the same ones
  // again and again (a crontab of a thousand lines running one script), so all reads together
  // are bounded too.
  mutable size_t bytes_read_ = 0;
};

}  // namespace backup_doctor::init
