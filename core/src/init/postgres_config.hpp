// PostgreSQL's own backup job: continuous archiving, configured by archive_mode and
// archive_command in postgresql.conf (and the files it includes), not by cron.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::init {

class HostFiles;

struct WalArchive {
  std::string config;  // the file and line of archive_command
  int line = 0;
  std::string command;
  std::string directory;  // where segments are copied ("" when not a local directory)
  std::string port;       // the server's port ("" for the default)
  std::string socket_directory;
  bool archive_mode_on = false;
};

// Every cluster's configuration found under /etc/postgresql/*/*/ and /var/lib/pgsql/data.
std::vector<WalArchive> read_wal_archives(const HostFiles& host, std::vector<std::string>& notes);

}  // namespace backup_doctor::init
