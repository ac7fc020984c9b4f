// rsync.remote: for a `[user@]host:path` destination, logs in with ssh exactly as a batch job
// would (no prompts), tells the ways a login fails apart, then checks the remote path and the
// remote rsync without writing anything there.
#include "checks.hpp"

#include "users.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/support/safe_open.hpp>
#include <backup_doctor/support/user_access.hpp>
#include <backup_doctor/text.hpp>
#include "location.hpp"
#include "private_file.hpp"
#include "remote_shell.hpp"
#include "rsync_output.hpp"
#include "ssh_diagnosis.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

namespace backup_doctor::rsync {

using sdk::context_cancelled;
using sdk::duration_param;
using sdk::Findings;
using sdk::shell_quote;
namespace {

// The port as a number when it is one (as given in the checklist, possibly as a string).
json port_json(const std::string& port) {
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty()) return nullptr;
  return ec == std::errc() && end == port.data() + port.size() ? json(value) : json(port);
}

using sdk::Status;

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["destination"],
  "properties": {
    "destination": {"type": "string", "minLength": 1,
      "description": "The job's remote argument, `[user@]host:path` (IPv6 hosts in brackets). Local paths and rsync daemon URLs are skipped."},
    "port": {"type": ["integer", "string"], "minimum": 1, "maximum": 65535, "pattern": "^[0-9]{1,5}$",
      "description": "SSH port (a number, or digits as a string so a checklist variable can carry it). Default: ssh's own (22 or what ssh_config says)."},
    "identity_file": {"type": "string", "minLength": 1,
      "description": "Private key the job logs in with (ssh -i, with IdentitiesOnly=yes). Default: ssh's own choice."},
    "known_hosts_file": {"type": "string", "minLength": 1,
      "description": "known_hosts file to verify the host key against (UserKnownHostsFile). Default: ~/.ssh/known_hosts of the user ssh runs as."},
    "ssh_config_file": {"type": "string", "minLength": 1,
      "description": "ssh client configuration file (ssh -F); \"/dev/null\" ignores every config file. Default: ssh's usual files."},
    "ssh_options": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z]+=.*$"},
      "description": "Extra ssh options as \"Key=Value\" (each passed with -o), e.g. [\"ProxyJump=bastion\"]. BatchMode and ConnectTimeout are always set by the check. Default none."},
    "connect_timeout": {"$ref": "bd:duration", "default": "10s",
      "description": "How long ssh may take to connect and exchange greetings (ConnectTimeout, whole seconds). Default \"10s\"."},
    "timeout": {"$ref": "bd:duration", "default": "60s",
      "description": "Kill the whole probe after this long. Default \"60s\"."},
    "remote_rsync": {"type": "string", "minLength": 1, "default": "rsync",
      "description": "The rsync program on the remote host (the job's --rsync-path). Default \"rsync\"."},
    "run_as": {"type": "string", "minLength": 1,
      "description": "Local user to run ssh as (whose keys, ~/.ssh/config and known_hosts the job uses). Default: the user backup-doctor runs as."},
    "ssh": {"type": "string", "minLength": 1, "default": "ssh",
      "description": "The ssh client program. Default \"ssh\"."}
  }
})";

// The remote probe, fed to `/bin/sh -s` so it works whatever the login shell is. It only asks
// questions (test, command -v, ls, df) and writes nothing.
std::string probe_script(const std::string& path, const std::string& rsync) {
  std::string p = path.empty() ? "." : path;
  return "p=" + shell_quote(p) + "\nr=" + shell_quote(rsync) + R"sh(
case $p in "~") p=$HOME ;; "~/"*) p=$HOME/${p#"~/"} ;; esac
if [ -d "$p" ]; then
  if [ -w "$p" ] && [ -x "$p" ]; then echo BD_PATH=writable; else echo BD_PATH=not_writable; fi
  echo "BD_LS=$(ls -ld -- "$p" 2>/dev/null)"
elif [ -e "$p" ]; then echo BD_PATH=not_directory
else
  d=$(dirname -- "$p")
  if [ -d "$d" ] && [ -w "$d" ] && [ -x "$d" ]; then echo BD_PATH=missing_parent_writable
  elif [ -d "$d" ]; then echo BD_PATH=missing_parent_not_writable
  else echo BD_PATH=missing; fi
fi
echo "BD_ID=$(id -un 2>/dev/null):$(id -gn 2>/dev/null)"
if command -v "$r" >/dev/null 2>&1; then
  echo "BD_RSYNC=$(command -v "$r")"
  echo "BD_RSYNC_VERSION=$("$r" --version 2>&1 | head -n 1)"
else echo BD_RSYNC=missing; fi
t=$p; [ -d "$t" ] || t=$(dirname -- "$p")
echo "BD_DF=$(df -Pk -- "$t" 2>/dev/null | tail -n 1)"
echo BD_END
)sh";
}

std::map<std::string, std::string> markers(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("BD_", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      m[line] = "";
    else
      m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

// A file ssh reads (key, certificate, known_hosts). As root, ssh would follow a link there
// wherever it points (root's own key): the file is opened safely here instead, and when another
// account could still swap it before ssh reads it, ssh gets a private copy of what was checked.
struct SshFile {
  std::string path;  // what to hand to ssh
  std::string refusal;
  std::optional<PrivateFile> copy;
};

void prepare_ssh_file(const std::string& given, const std::string& copy_name,
                      const std::optional<support::UserIds>& run_as, SshFile& out) {
  out.path = given;
  if (run_as || geteuid() != 0) return;  // ssh reads it with that account's rights only
  auto opened = support::open_untrusted(given, support::Expect::regular);
  if (opened.refusal == support::Refusal::missing) return;
  if (!opened) {
    out.refusal = opened.message;
    return;
  }
  if (support::untrusted_path_reason(given).empty()) return;
  // A key or a known_hosts file: 1 MiB is far beyond either.
  std::string content = support::read_up_to(opened.fd.get(), 1 << 20).data;
  out.copy.emplace(copy_name, content, std::nullopt);
  out.path = out.copy->path();
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  std::string x;
  while (in >> x) w.push_back(x);
  return w;
}

// The ssh login the job makes, read once from the parameters.
struct RemoteJob {
  Location loc;
  std::optional<support::UserIds> run_as;
  support::UserIds local_user;
  std::chrono::milliseconds connect_timeout{};
  std::chrono::milliseconds timeout{};
  std::string remote_rsync;
  std::string login;  // the remote account
  std::string port;   // "" for ssh's own
  std::string identity;
  std::string known_hosts;
  std::string target;  // [user@]host, as handed to ssh
  std::string where;   // host[:port], as shown in messages
};

RemoteJob read_job(const json& params, const Location& loc) {
  RemoteJob job;
  job.loc = loc;
  job.run_as = user_param(params, "run_as");
  job.local_user = job.run_as.value_or(current_user());
  job.connect_timeout = duration_param(params, "connect_timeout", "10s");
  job.timeout = duration_param(params, "timeout", "60s");
  job.remote_rsync = params.value("remote_rsync", std::string("rsync"));
  job.login = loc.user.empty() ? job.local_user.name : loc.user;
  job.port = !params.contains("port")     ? std::string()
             : params["port"].is_string() ? params["port"].get<std::string>()
                                          : std::to_string(params["port"].get<int>());
  job.identity = params.value("identity_file", std::string());
  job.known_hosts = params.value("known_hosts_file", std::string());
  job.target = (loc.user.empty() ? "" : loc.user + "@") + loc.host;
  job.where = loc.host + (job.port.empty() ? "" : ":" + job.port);
  return job;
}

// Skips a destination that is not reached over ssh; true when it did.
bool skip_unless_ssh(const std::string& destination, const Location& loc, sdk::Context& ctx) {
  if (loc.kind == Location::Kind::local) {
    ctx.skip("Destination " + destination + " is local; nothing to reach over ssh",
             {{"destination", destination}});
    return true;
  }
  if (loc.kind == Location::Kind::daemon) {
    ctx.skip("Destination " + destination + " is an rsync daemon, not ssh; rsync.dry_run covers it",
             {{"destination", destination}});
    return true;
  }
  return false;
}

// The files handed to ssh; they (and their private copies) must outlive the ssh run.
struct SshFiles {
  SshFile key, cert, hosts;
};

// As root, what ssh reads must not be a link another account made; a configuration file that
// another account can change could run any command through ssh as root. Reports and returns
// true when a file was refused.
bool refuse_untrusted_files(const RemoteJob& job, const json& params, SshFiles& files,
                            sdk::Context& ctx, json& details) {
  if (!job.identity.empty()) {
    prepare_ssh_file(job.identity, "id", job.run_as, files.key);
    if (files.key.copy)
      prepare_ssh_file(job.identity + "-cert.pub", "id-cert.pub", job.run_as, files.cert);
  }
  if (!job.known_hosts.empty())
    prepare_ssh_file(job.known_hosts, "known_hosts", job.run_as, files.hosts);
  if (!files.key.refusal.empty() || !files.hosts.refusal.empty()) {
    bool is_key = !files.key.refusal.empty();
    details["failure"] = "untrusted_ssh_file";
    ctx.fail(std::string(is_key ? "Identity file " + job.identity
                                : "known_hosts file " + job.known_hosts) +
                 " was not used: " + (is_key ? files.key.refusal : files.hosts.refusal),
             "ssh runs as root here and would read whatever such a link points to (root's own "
             "key). Put the file itself there, or set run_as to the job's account so that ssh "
             "reads it with that account's rights.",
             details);
    return true;
  }
  if (params.contains("ssh_config_file") && !job.run_as) {
    const std::string config = params["ssh_config_file"].get<std::string>();
    if (std::string risk = root_read_risk(config); !risk.empty()) {
      details["failure"] = "untrusted_ssh_file";
      ctx.fail("ssh_config_file " + config + " was not used: " + risk,
               "An ssh configuration can run commands (ProxyCommand, LocalCommand, Match exec), "
               "and ssh runs as root here: keep the file where only root can change it, or set "
               "run_as to the job's account.",
               details);
      return true;
    }
  }
  return false;
}

// The key itself, before ssh hides the problem behind "Permission denied". Reports and returns
// true when ssh could not use it.
bool report_bad_identity(const RemoteJob& job, sdk::Context& ctx, json& details) {
  if (job.identity.empty()) return false;
  const std::string& identity = job.identity;
  const support::UserIds& local_user = job.local_user;
  struct stat st {};
  details["identity_file"] = identity;
  if (stat(identity.c_str(), &st) != 0) {
    details["failure"] = "key_unreadable";
    ctx.fail("Identity file " + identity + " does not exist",
             "Point identity_file (and the job's `ssh -i`) at the private key the job uses, or "
             "create one with `ssh-keygen -t ed25519 -f " +
                 shell_quote(identity) + "` and install its .pub on " + job.loc.host + ".",
             details);
    return true;
  }
  auto readable = support::test_access_as(local_user, identity, support::Access::read);
  if (readable.tested && !readable.allowed) {
    details["failure"] = "key_unreadable";
    ctx.fail("Identity file " + identity + " is not readable by '" + local_user.name + "'",
             "`chown " + local_user.name + " " + shell_quote(identity) + " && chmod 600 " +
                 shell_quote(identity) + "`.",
             details);
    return true;
  }
  if (st.st_uid == local_user.uid && (st.st_mode & 077) != 0) {
    details["failure"] = "key_permissions";
    ctx.fail("Identity file " + identity + " is accessible to other users; ssh will refuse it",
             "`chmod 600 " + shell_quote(identity) +
                 "`: ssh ignores private keys that others "
                 "can read.",
             details);
    return true;
  }
  return false;
}

// ConnectTimeout takes whole seconds: rounded up, at least 1.
long connect_seconds(const RemoteJob& job) {
  return std::max<long>(
      1, static_cast<long>(std::ceil(static_cast<double>(job.connect_timeout.count()) / 1000)));
}

std::vector<std::string> ssh_argv(const RemoteJob& job, const json& params, const SshFiles& files) {
  std::vector<std::string> argv{params.value("ssh", std::string("ssh")),
                                "-T",
                                "-o",
                                "BatchMode=yes",
                                "-o",
                                "ConnectTimeout=" + std::to_string(connect_seconds(job))};
  if (params.contains("ssh_config_file")) {
    argv.push_back("-F");
    argv.push_back(params["ssh_config_file"].get<std::string>());
  }
  if (!job.port.empty()) argv.insert(argv.end(), {"-p", job.port});
  if (!job.identity.empty())
    argv.insert(argv.end(), {"-i", files.key.path, "-o", "IdentitiesOnly=yes"});
  if (!job.known_hosts.empty())
    argv.insert(argv.end(), {"-o", "UserKnownHostsFile=" + files.hosts.path});
  for (const auto& o : params.value("ssh_options", std::vector<std::string>{}))
    argv.insert(argv.end(), {"-o", o});
  argv.insert(argv.end(), {"--", job.target, "/bin/sh -s"});
  return argv;
}

support::ProcessResult run_probe(const RemoteJob& job, const std::vector<std::string>& argv,
                                 sdk::Context& ctx, json& details) {
  support::ProcessOptions opts;
  opts.timeout = job.timeout;
  opts.as_user = job.run_as;
  opts.cwd = "/";
  opts.env["LC_ALL"] = "C";
  opts.stdin_data = probe_script(job.loc.path, job.remote_rsync);
  opts.cancelled = &context_cancelled;
  opts.cancelled_arg = &ctx;
  details["command"] = argv;
  return support::run_process(argv, opts);
}

double elapsed_seconds(const support::ProcessResult& r) {
  return static_cast<double>(r.elapsed.count()) / 1000.0;
}

// ssh that did not start or did not finish is reported here, and the caller stops: true.
// Throws when the check was cancelled.
bool report_unfinished_probe(const RemoteJob& job, const support::ProcessResult& r,
                             sdk::Context& ctx, json& details) {
  if (!r.started) {
    ctx.report(Status::error,
               (r.refused_untrusted ? "Refused to run " + r.program + ": "
                                    : std::string("Could not run ssh: ")) +
                   r.start_error,
               r.refused_untrusted
                   ? "Point 'ssh' at a program only root can change (the system's ssh), or set "
                     "run_as so that ssh runs as the job's account."
                   : "Install the ssh client (`apt-get install openssh-client`) or set 'ssh'.",
               details);
    return true;
  }
  if (r.cancelled) throw sdk::CheckError("cancelled");
  details["duration_seconds"] = elapsed_seconds(r);
  if (!r.timed_out) return false;
  const std::string& path = job.loc.path;
  details["failure"] = "probe_timeout";
  ctx.fail("ssh to " + job.where + " did not finish within " + format_duration(job.timeout),
           "The connection was made but the session hung: a login script waiting for input, "
           "or a remote filesystem under " +
               (path.empty() ? std::string("the home directory") : path) +
               " that does not answer (stale NFS mount?). Log in by hand and run "
               "`ls -ld " +
               shell_quote(path.empty() ? "." : path) + "` to see which.",
           details);
  return true;
}

// What a failed login (ssh exit code 255) is phrased from.
struct FailedLogin {
  const RemoteJob& job;
  SshFailure why;
  const std::string& err;  // ssh's stderr
  std::string excerpt;
  const std::vector<std::string>& argv;
};

struct Message {
  std::string summary;
  std::string fix;
};

// A failure ssh did not classify: its first line, and the command to retry verbosely.
Message describe_other_failure(const FailedLogin& fl) {
  const std::vector<std::string>& argv = fl.argv;
  return {"ssh to " + fl.job.where + " failed: " + fl.excerpt.substr(0, fl.excerpt.find('\n')),
          "Run `" +
              [&] {
                std::string s;
                for (size_t i = 0; i + 1 < argv.size(); ++i)
                  s += (i ? " " : "") + shell_quote(argv[i]);
                return s;
              }() +
              " true -v` by hand to see where it stops."};
}

// Host key and authentication failures: the server answered but the login did not get through.
Message describe_login_failure(const FailedLogin& fl) {
  const RemoteJob& job = fl.job;
  const std::string& host = job.loc.host;
  const std::string& port = job.port;
  const std::string& where = job.where;
  const std::string& identity = job.identity;
  const std::string& login = job.login;
  const std::string kh_name =
      job.known_hosts.empty() ? "~" + job.local_user.name + "/.ssh/known_hosts" : job.known_hosts;
  const std::string host_pattern = port.empty() || port == "22" ? host : "[" + host + "]:" + port;
  const std::string id_text = identity.empty() ? "the job's key" : identity;
  const std::string keyscan =
      "ssh-keyscan " + (port.empty() ? "" : "-p " + port + " ") + shell_quote(host);
  switch (fl.why) {
    case SshFailure::unknown_host_key:
      return {"Host key of " + where + " is not known; batch ssh refuses to connect",
              "Add the server's key to " + kh_name +
                  " after checking its fingerprint with the "
                  "server's administrator: `" +
                  keyscan + " >> " + shell_quote(kh_name) + "` then compare `ssh-keygen -lf " +
                  shell_quote(kh_name) + "`."};
    case SshFailure::host_key_changed:
      return {"Host key of " + where + " has CHANGED since it was recorded",
              "Do not just accept it: confirm with the administrator of " + host +
                  " that the key was really replaced (reinstall, key rotation); otherwise "
                  "someone may be intercepting the connection. Once confirmed: `ssh-keygen -R " +
                  shell_quote(host_pattern) + " -f " + shell_quote(kh_name) + "` and re-add it."};
    case SshFailure::key_permissions:
      return {"ssh refused the private key " + id_text + " because of its permissions",
              "`chmod 600 " + shell_quote(identity.empty() ? "<key>" : identity) + "`."};
    case SshFailure::key_unreadable:
      return {"ssh could not read the private key " + id_text,
              "Check the identity file path and that '" + job.local_user.name + "' can read it."};
    case SshFailure::auth_failed:
      return {"SSH authentication as '" + login + "' on " + where + " failed",
              host + " rejected " + id_text + " for user '" + login +
                  "'. Install the public "
                  "key in ~" +
                  login + "/.ssh/authorized_keys on " + host + " (`ssh-copy-id -i " +
                  shell_quote(identity.empty() ? "<key>" : identity + ".pub") +
                  (port.empty() ? "" : " -p " + port) + " " + shell_quote(login + "@" + host) +
                  "`). A key with a passphrase cannot work unattended; sshd's log on the server "
                  "(`journalctl -u ssh`) says why the key was refused (AllowUsers, ownership of "
                  "~/.ssh)."};
    default:
      return describe_other_failure(fl);
  }
}

// No answer, or not the right one: ssh timed out on the connection or on the server's greeting.
Message describe_timeout(const FailedLogin& fl, json& details) {
  const RemoteJob& job = fl.job;
  const std::string connect_s = std::to_string(connect_seconds(job));
  if (fl.err.find("banner") != std::string::npos) {
    Message m{"SSH to " + job.where + " timed out waiting for the server's greeting",
              "Something accepted the TCP connection but never spoke SSH within " + connect_s +
                  "s: the port belongs to another service, or sshd "
                  "is overloaded (MaxStartups) or stuck. Check the port and sshd on " +
                  job.loc.host + "."};
    details["timeout_stage"] = "banner";
    return m;
  }
  Message m{"SSH connection to " + job.where + " timed out",
            "No answer within " + connect_s +
                "s: the host is down or a "
                "firewall silently drops the traffic. `nc -vz -w5 " +
                job.loc.host + " " + (job.port.empty() ? "22" : job.port) +
                "` from this machine tells whether the port is reachable."};
  details["timeout_stage"] = "connect";
  return m;
}

// Failures on the way to an SSH server: nothing listens, no answer, no name, no route, or the
// server hung up before login.
Message describe_ssh_failure(const FailedLogin& fl, json& details) {
  const std::string& host = fl.job.loc.host;
  const std::string& where = fl.job.where;
  switch (fl.why) {
    case SshFailure::connection_refused:
      return {"SSH connection to " + where + " refused",
              "Nothing accepts connections on " + where + ": check that sshd runs on " + host +
                  " (`systemctl status ssh`), that the port is right (the job's -p / "
                  "ssh_config), and that no firewall rejects it."};
    case SshFailure::timeout:
      return describe_timeout(fl, details);
    case SshFailure::unknown_host:
      return {"Host name " + host + " does not resolve",
              "Fix the host name in the job or its DNS/hosts entry (`getent hosts " +
                  shell_quote(host) + "`)."};
    case SshFailure::unreachable:
      return {"No network route to " + host,
              "The network path to " + host + " is down (`ip route get` / `traceroute " +
                  shell_quote(host) + "`): VPN, routing or interface problem."};
    case SshFailure::connection_closed:
      return {"SSH server " + where + " closed the connection before login",
              "The server dropped us before authentication: too many pending connections "
              "(MaxStartups), a ban (fail2ban, hosts.deny) of this machine, or a non-SSH "
              "service. Check sshd's log on " +
                  host + "."};
    default:
      return describe_login_failure(fl);
  }
}

// ssh's own failure (exit code 255), told apart by its message.
void report_failed_login(const RemoteJob& job, const support::ProcessResult& r,
                         const std::vector<std::string>& argv, sdk::Context& ctx, json& details) {
  FailedLogin fl{job, classify_ssh_error(r.err), r.err, ssh_error_excerpt(r.err), argv};
  details["failure"] = ssh_failure_name(fl.why);
  details["ssh_error"] = fl.excerpt;
  Message m = describe_ssh_failure(fl, details);
  ctx.fail(m.summary, m.fix, details);
}

// A forced command (rrsync) ran instead of the probe: warns, and the caller stops: true.
bool report_restricted_session(const RemoteJob& job, const support::ProcessResult& r,
                               const std::map<std::string, std::string>& m, sdk::Context& ctx,
                               json& details) {
  if (m.count("BD_END")) return false;
  details["failure"] = "restricted_session";
  details["remote_output"] = (r.out + r.err).substr(0, 2000);
  details["remote_exit_code"] = r.exit_code;
  ctx.warn("Logged in to " + job.where + " as '" + job.login +
               "', but the session did not run the probe (forced command such as rrsync?)",
           "The key seems restricted to a fixed command in authorized_keys, so the remote "
           "path and rsync cannot be checked from here; rsync.dry_run against this "
           "destination shows whether the job itself gets through.",
           details);
  return true;
}

// "host:path", with "~" for the login directory.
std::string remote_path_text(const Location& loc) {
  return loc.host + ":" + (loc.path.empty() ? "~" : loc.path);
}

// The remote path as the probe found it: a writable directory, or what is wrong with it.
void check_remote_path(const RemoteJob& job, std::map<std::string, std::string>& m, Findings& f,
                       json& details) {
  const Location& loc = job.loc;
  const std::string path_text = remote_path_text(loc);
  std::string remote_id = m["BD_ID"];
  std::string remote_user = remote_id.substr(0, remote_id.find(':'));
  std::string remote_group =
      remote_id.find(':') == std::string::npos ? "" : remote_id.substr(remote_id.find(':') + 1);
  const std::string path_state = m["BD_PATH"];
  details["remote_path_state"] = path_state;
  details["remote_identity"] = remote_id;
  const std::string qpath = shell_quote(loc.path.empty() ? "." : loc.path);
  if (path_state == "not_writable") {
    auto ls = words(m["BD_LS"]);
    std::string owner = ls.size() >= 4 ? ls[2] + ":" + ls[3] : "?";
    details["remote_path_owner"] = owner;
    f.add(Status::fail, "Remote path " + path_text + " is not writable by '" + remote_user + "'",
          "It belongs to " + owner + " (" + (ls.empty() ? "?" : ls[0]) + "). On " + loc.host +
              ": `chown " + remote_user + ":" + remote_group + " " + qpath + " && chmod u+rwx " +
              qpath + "` (or `setfacl -m u:" + remote_user + ":rwx " + qpath + "`).");
  } else if (path_state == "not_directory") {
    f.add(Status::fail, "Remote path " + path_text + " exists but is not a directory",
          "Point the job at a directory on " + loc.host + " or move that file away.");
  } else if (path_state == "missing_parent_writable") {
    f.add(Status::warn, "Remote path " + path_text + " does not exist yet (rsync would create it)",
          "rsync creates the last directory on its first run, so this works; if the job is "
          "supposed to have run before, the path is probably misspelt or a volume is not "
          "mounted on " +
              loc.host + ".");
  } else if (path_state == "missing_parent_not_writable" || path_state == "missing") {
    f.add(Status::fail, "Remote path " + path_text + " does not exist",
          "On " + loc.host + ": `mkdir -p " + qpath + " && chown " + remote_user + ":" +
              remote_group + " " + qpath + "` (or mount the backup volume that should hold it).");
  }
}

// The remote rsync: installed, and which version and protocol.
void check_remote_rsync(const RemoteJob& job, std::map<std::string, std::string>& m,
                        sdk::Context& ctx, Findings& f, json& details) {
  std::string rsync_path = m["BD_RSYNC"];
  if (rsync_path == "missing" || rsync_path.empty()) {
    f.add(Status::fail,
          "rsync is not installed on " + job.loc.host + " (no '" + job.remote_rsync + "' on PATH)",
          "Install it on " + job.loc.host +
              " (`apt-get install rsync` / `dnf install rsync`), or set "
              "remote_rsync and the job's --rsync-path to where it lives.");
    return;
  }
  details["remote_rsync"] = rsync_path;
  if (auto v = parse_version(m["BD_RSYNC_VERSION"])) {
    details["remote_rsync_version"] = v->version;
    details["remote_rsync_protocol"] = v->protocol;
    ctx.metric("remote_rsync_protocol", v->protocol, "");
  }
}

// Free space where the files land, from df's "Available" column (KiB); nothing when unparsable.
void record_remote_free_space(std::map<std::string, std::string>& m, sdk::Context& ctx,
                              json& details) {
  auto df = words(m["BD_DF"]);
  if (df.size() < 4) return;
  try {
    double avail = std::stod(df[3]) * 1024;
    details["remote_free_bytes"] = avail;
    ctx.metric("remote_free", avail, "bytes");
  } catch (...) {
  }
}

std::string ok_summary(const RemoteJob& job, const json& details) {
  return "Logged in to " + job.where + " as '" + job.login + "'; " + remote_path_text(job.loc) +
         " is writable and rsync " +
         details.value("remote_rsync_version", std::string("(unknown version)")) + " is installed";
}

void run(const json& params, sdk::Context& ctx) {
  const std::string destination = params.at("destination").get<std::string>();
  const Location loc = parse_location(destination);
  if (skip_unless_ssh(destination, loc, ctx)) return;
  const RemoteJob job = read_job(params, loc);
  json details = {{"host", loc.host},
                  {"user", job.login},
                  {"path", loc.path},
                  {"port", port_json(job.port)},
                  {"local_user", job.local_user.name}};

  SshFiles files;
  if (refuse_untrusted_files(job, params, files, ctx, details)) return;
  if (report_bad_identity(job, ctx, details)) return;
  const std::vector<std::string> argv = ssh_argv(job, params, files);
  const auto r = run_probe(job, argv, ctx, details);
  if (report_unfinished_probe(job, r, ctx, details)) return;
  if (r.exit_code == 255) {
    report_failed_login(job, r, argv, ctx, details);
    return;
  }

  ctx.metric("ssh_login_duration", elapsed_seconds(r), "seconds");
  auto m = markers(r.out);
  if (report_restricted_session(job, r, m, ctx, details)) return;
  Findings f;
  check_remote_path(job, m, f, details);
  check_remote_rsync(job, m, ctx, f, details);
  record_remote_free_space(m, ctx, details);
  f.report(ctx, ok_summary(job, details), details);
}

}  // namespace

sdk::CheckType remote_check() {
  return {
      .type = "rsync.remote",
      .summary = "Reaches a remote rsync destination over ssh and checks the path and remote rsync",
      .doc =
          "For a `[user@]host:path` destination, logs in the way an unattended job does: ssh "
          "with BatchMode (no password or host-key prompts) and a ConnectTimeout, with the job's "
          "port, key, known_hosts file and options. A failed login is told apart: connection "
          "refused, timeout (no answer, or no SSH greeting), unresolvable name, no route, unknown "
          "host key, changed host key, key file permissions, authentication refused, connection "
          "closed by the server.\n\nOnce logged in, a small read-only shell probe checks that the "
          "remote path is a directory the remote user can write to (`test -d` / `test -w`, "
          "nothing is created), that rsync is on the remote PATH and which version it is, and "
          "how much space is free there. A key restricted to a forced command (rrsync) is "
          "reported as a warning because the probe cannot run.\n\nAs root without run_as, a "
          "key or known_hosts file that is a link (to root's own key), a FIFO or a device is "
          "refused before ssh starts; the backup account's own files reach ssh as a private "
          "copy of what was checked. An ssh_config_file (which can run commands) and the ssh "
          "program must be ones only root can change.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::rsync
