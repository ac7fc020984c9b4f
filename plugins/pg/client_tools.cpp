#include "client_tools.hpp"

#include <backup_doctor/support/safe_open.hpp>
#include "secrets.hpp"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <vector>

namespace backup_doctor::pg {

namespace {

constexpr const char* kDebianClients = "/usr/lib/postgresql";

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// The newest /usr/lib/postgresql/N/bin/<name>, listed without following links.
std::string newest_installed(const std::string& name) {
  support::SafeOpened base = support::open_untrusted(kDebianClients, support::Expect::directory);
  std::vector<support::DirEntry> entries;
  if (!base || support::list_directory(base.fd.get(), entries) != 0) return {};
  std::string best;
  int best_major = 0;
  for (const auto& e : entries) {
    if (!S_ISDIR(e.st.st_mode) || !all_digits(e.name) || e.name.size() > 4) continue;
    int major = std::stoi(e.name);
    std::string candidate = std::string(kDebianClients) + "/" + e.name + "/bin/" + name;
    if (major > best_major && !support::find_program(candidate).empty())
      best = candidate, best_major = major;
  }
  return best;
}

bool is_debian_wrapper(const std::string& program) {
  std::error_code ec;
  return std::filesystem::canonical(program, ec).string().ends_with("pg_wrapper");
}

}  // namespace

ClientTool resolve_client(const std::string& requested, const std::string& name) {
  ClientTool t;
  t.requested = requested;
  t.path = support::find_program(requested);
  if (t.path.empty()) {
    t.problem = requested + " was not found" +
                (requested.find('/') == std::string::npos ? " on PATH" : "") +
                " or is not executable";
    t.remediation = "Install the PostgreSQL client tools (postgresql-client) or set `" + name +
                    "` to the full path of " + name + ".";
    return t;
  }
  if (requested == name && is_debian_wrapper(t.path)) {
    std::string direct = newest_installed(name);
    if (!direct.empty()) t.path = direct;
  }
  if (std::string why = support::untrusted_program_reason(t.path); !why.empty()) {
    t.problem = name + " " + t.path + " is not safe to run: " + why +
                ". It would read the dump (and, to restore it, the restore role's password), so "
                "that user could fake the result or take the password";
    t.remediation = "Use the client tools root installed (e.g. " +
                    (newest_installed(name).empty() ? std::string("/usr/bin/") + name
                                                    : newest_installed(name)) +
                    "), or make this one root's alone: `chown root:root " + t.path +
                    " && chmod go-w " + t.path + "` (and the directories above it).";
  }
  return t;
}

std::optional<support::UserIds> tool_account(const std::string& run_as) {
  if (::geteuid() != 0) return std::nullopt;
  auto user = support::lookup_user(run_as);
  if (!user)
    throw sdk::CheckError(
        "run_as '" + run_as + "' is not an account on this host",
        "Set `run_as` to an existing unprivileged account (default \"nobody\"), for "
        "example the account that owns the dumps.");
  if (user->uid == 0)
    throw sdk::CheckError(
        "run_as '" + run_as +
            "' is root: pg_restore and psql never run as root on a "
            "dump",
        "A dump is input that whoever can write the backup directory controls. Set "
        "`run_as` to an unprivileged account (default \"nobody\"), for example the "
        "account that owns the dumps.");
  return user;
}

bool psql_has_restrict(int version) {
  int major = version / 10000, minor = version % 10000;
  if (version < 100000) return false;
  switch (major) {
    case 13:
      return minor >= 22;
    case 14:
      return minor >= 19;
    case 15:
      return minor >= 14;
    case 16:
      return minor >= 10;
    case 17:
      return minor >= 6;
    default:
      return major >= 18;
  }
}

}  // namespace backup_doctor::pg
