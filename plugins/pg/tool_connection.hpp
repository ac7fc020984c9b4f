// How psql and pg_restore connect for a check: to exactly where the check's own libpq
// connection went (host, port, user and SSL settings as libpq resolved them, from the
// parameters, a service file or the environment), with the password in a password file and
// the SSL files copied, all private to the account the programs run as. The files live in a
// directory of their own in $TMPDIR (the check's private scratch directory) and are removed
// when this object goes. No secret is ever put in a program's environment or command line.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <backup_doctor/support/process.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor::pg {

class Connection;

class ToolConnection {
 public:
  // Throws sdk::CheckError when the files cannot be made.
  ToolConnection(Connection& conn, const std::optional<support::UserIds>& as_user);
  ~ToolConnection();
  ToolConnection(const ToolConnection&) = delete;
  ToolConnection& operator=(const ToolConnection&) = delete;

  // PG* variables for a program that connects to `dbname`.
  std::map<std::string, std::string> environment(const std::string& dbname) const;
  const std::string& directory() const { return dir_; }

 private:
  void make_directory();
  void remove_files();
  // Writes `content` to a new file `name` in the directory, owned by the programs' account,
  // mode 0600; returns its path.
  std::string private_file(const std::string& name, const std::string& content);
  std::string copy_private(const std::string& keyword, const std::string& path);

  std::optional<support::UserIds> as_user_;
  std::string dir_;
  std::vector<std::string> files_;
  std::map<std::string, std::string> env_;
};

}  // namespace backup_doctor::pg
