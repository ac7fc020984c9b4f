#include "tool_connection.hpp"

#include <backup_doctor/support/safe_open.hpp>
#include <backup_doctor/support/user_access.hpp>
#include "connection.hpp"
#include "secrets.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace backup_doctor::pg {

namespace {

// The libpq settings, besides host, port and user, that a client program needs to reach the
// server the same way (never the password, the password file or the service).
const std::set<std::string> kPassed = {"sslmode",
                                       "sslcompression",
                                       "sslcert",
                                       "sslkey",
                                       "sslrootcert",
                                       "sslcrl",
                                       "sslcrldir",
                                       "sslsni",
                                       "requirepeer",
                                       "gssencmode",
                                       "krbsrvname",
                                       "gsslib",
                                       "channel_binding",
                                       "connect_timeout",
                                       "application_name",
                                       "options",
                                       "ssl_min_protocol_version",
                                       "ssl_max_protocol_version"};
// Of those, the files the programs' account may not be able to read where they are.
const std::set<std::string> kFiles = {"sslcert", "sslkey", "sslrootcert", "sslcrl"};

constexpr size_t kMaxCopied = 1 << 20;

std::string pgpass_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

std::string temp_base() {
  const char* base = std::getenv("TMPDIR");
  return base && *base == '/' ? base : "/tmp";
}

}  // namespace

ToolConnection::ToolConnection(Connection& conn, const std::optional<support::UserIds>& as_user)
    : as_user_(as_user) {
  try {
    env_["PGHOST"] = conn.host();
    if (!conn.host_address().empty()) env_["PGHOSTADDR"] = conn.host_address();
    env_["PGPORT"] = conn.port();
    env_["PGUSER"] = conn.user();
    PQconninfoOption* opts = PQconninfo(conn.raw());
    for (PQconninfoOption* o = opts; o && o->keyword; ++o) {
      if (!o->val || !*o->val || !o->envvar || !kPassed.count(o->keyword)) continue;
      std::string value = o->val;
      if (kFiles.count(o->keyword) && as_user_ && value != "system")
        value = copy_private(o->keyword, value);
      env_[o->envvar] = value;
    }
    PQconninfoFree(opts);
    const char* password = PQpass(conn.raw());
    if (password && *password) {
      std::string pw = password;
      if (pw.find_first_of("\r\n") != std::string::npos)
        throw sdk::CheckError(
            "The restore password contains a line break, which a password file "
            "cannot hold",
            "Give the restore role a password without line breaks.");
      env_["PGPASSFILE"] = private_file("pgpass", "*:*:*:*:" + pgpass_escape(pw) + "\n");
    }
  } catch (...) {
    remove_files();
    throw;
  }
}

ToolConnection::~ToolConnection() {
  remove_files();
}

void ToolConnection::remove_files() {
  for (const auto& f : files_) ::unlink(f.c_str());
  files_.clear();
  if (!dir_.empty()) ::rmdir(dir_.c_str());
  dir_.clear();
}

std::map<std::string, std::string> ToolConnection::environment(const std::string& dbname) const {
  auto env = env_;
  env["PGDATABASE"] = dbname;
  return env;
}

void ToolConnection::make_directory() {
  std::string pattern = temp_base() + "/bd-pg-tool-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw sdk::CheckError(
        "Could not create a private directory in " + temp_base() + ": " + sdk::errno_text(errno),
        "The restore tools get their password file there. Check free space and "
        "permissions of " +
            temp_base() + ".");
  ::chmod(pattern.c_str(), 0711);  // the programs' account reaches its files by name only
  dir_ = pattern;
}

std::string ToolConnection::private_file(const std::string& name, const std::string& content) {
  if (dir_.empty()) make_directory();
  std::string path = dir_ + "/" + name;
  support::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd)
    throw sdk::CheckError("Could not create " + path + ": " + sdk::errno_text(errno),
                          "Check free space and permissions of " + temp_base() + ".");
  files_.push_back(path);
  if (as_user_ && ::geteuid() == 0 && ::fchown(fd.get(), as_user_->uid, as_user_->gid) != 0)
    throw sdk::CheckError(
        "Could not give " + path + " to " + as_user_->name + ": " + sdk::errno_text(errno),
        "Check that " + temp_base() + " is on a file system that supports owners.");
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw sdk::CheckError("Could not write " + path + ": " + sdk::errno_text(errno),
                            "Check free space in " + temp_base() + ".");
    done += static_cast<size_t>(n);
  }
  if (as_user_ && ::geteuid() == 0) {
    support::AccessAnswer a = support::test_access_as(*as_user_, path, support::Access::read);
    if (a.tested && !a.allowed)
      throw sdk::CheckError("The account " + as_user_->name + " cannot read its password file in " +
                                temp_base() + " (" + a.reason + ")",
                            "Every directory above " + temp_base() + " must be searchable by " +
                                as_user_->name +
                                " (backup-doctor gives each check such a directory as TMPDIR; when "
                                "TMPDIR is set by hand, choose one like /tmp).");
  }
  return path;
}

// libpq's files for this connection, copied so that the programs' account can read them.
std::string ToolConnection::copy_private(const std::string& keyword, const std::string& path) {
  support::SafeOpened src = support::open_untrusted(path, support::Expect::regular);
  if (!src)
    throw sdk::CheckError("`" + keyword + "` " + path + " cannot be read: " + src.message,
                          "Point `" + keyword + "` at a regular file that root can read.");
  std::string content;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(src.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw sdk::CheckError(
          "`" + keyword + "` " + path + " cannot be read: " + sdk::errno_text(errno),
          "Point `" + keyword + "` at a regular file that root can read.");
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxCopied)
      throw sdk::CheckError("`" + keyword + "` " + path + " is larger than 1 MiB",
                            "Point `" + keyword + "` at the certificate or key file itself.");
  }
  return private_file(keyword, content);
}

}  // namespace backup_doctor::pg
