#include "remote_shell.hpp"

#include <backup_doctor/support/process.hpp>
#include <backup_doctor/support/safe_open.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace backup_doctor::rsync {
namespace {

const char* kSetRunAs =
    "Set run_as to the account the job runs as: the dry run (and the remote shell) then runs "
    "with that account's rights only.";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ssh's own options (OpenSSH getopt string), those that take a value.
constexpr std::string_view kSshValueLetters = "bceilmopBDEFIJLOPQRSwW";
constexpr std::string_view kSshFlagLetters = "1246afgknqstvxAGKMNTVXYCy";

// Flags that make ssh do something besides carrying rsync's session: write a file, fork into
// the background, open forwardings or a control socket, load a library, or not connect at all.
std::string_view always_refused_letter(char c) {
  switch (c) {
    case 'E':
      return "writes ssh's log to a file";
    case 'f':
      return "puts ssh in the background, where it outlives the check";
    case 'M':
    case 'S':
    case 'O':
      return "creates or drives a connection-sharing socket";
    case 'L':
    case 'R':
    case 'D':
    case 'W':
    case 'w':
      return "opens a forwarding or a tunnel";
    case 'I':
      return "loads a PKCS#11 library into ssh";
    case 'N':
    case 'G':
    case 'Q':
    case 'V':
      return "makes ssh not run rsync at all";
    default:
      return {};
  }
}

// Flags that hand root's credentials to the remote side.
std::string_view root_refused_letter(char c) {
  switch (c) {
    case 'A':
      return "forwards root's ssh agent to the remote host";
    case 'X':
    case 'Y':
      return "forwards root's X11 display to the remote host";
    case 'K':
      return "delegates root's GSSAPI credentials to the remote host";
    default:
      return {};
  }
}

// ssh_config keywords (lower case) that run a program, write, or leave a process behind.
std::string_view always_refused_keyword(const std::string& key) {
  static const std::pair<const char*, const char*> table[] = {
      {"proxycommand", "runs a command locally"},
      {"localcommand", "runs a command locally"},
      {"permitlocalcommand", "lets ssh run a local command"},
      {"knownhostscommand", "runs a command locally"},
      {"xauthlocation", "runs an xauth program"},
      {"pkcs11provider", "loads a library into ssh"},
      {"securitykeyprovider", "loads a library into ssh"},
      {"controlmaster", "creates a connection-sharing socket"},
      {"controlpath", "creates a connection-sharing socket"},
      {"controlpersist", "leaves a master ssh running after the check"},
      {"forkafterauthentication", "puts ssh in the background"},
      {"localforward", "opens a forwarding"},
      {"remoteforward", "opens a forwarding"},
      {"dynamicforward", "opens a forwarding"},
      {"tunnel", "opens a tunnel"},
      {"tunneldevice", "opens a tunnel"},
      {"remotecommand", "replaces the command rsync runs on the remote host"},
      {"sessiontype", "changes what ssh runs on the remote host"},
      {"include", "reads more configuration files"},
      {"match", "is not an option"},
  };
  for (const auto& [k, why] : table)
    if (key == k) return why;
  return {};
}

std::string_view root_refused_keyword(const std::string& key) {
  if (key == "forwardagent") return "forwards root's ssh agent to the remote host";
  if (key == "forwardx11" || key == "forwardx11trusted")
    return "forwards root's X11 display to the remote host";
  if (key == "gssapidelegatecredentials")
    return "delegates root's GSSAPI credentials to the remote host";
  return {};
}

// ssh_config keywords whose value is a file (or socket) ssh reads.
bool file_keyword(const std::string& key) {
  return key == "identityfile" || key == "certificatefile" || key == "userknownhostsfile" ||
         key == "globalknownhostsfile" || key == "revokedhostkeys" || key == "identityagent";
}

std::string expand_home(const std::string& path) {
  if (path.rfind("~/", 0) != 0) return path;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + path.substr(1);
}

class SshVetter {
 public:
  SshVetter(const std::string& option_text, bool as_root)
      : option_(option_text), as_root_(as_root) {}

  std::optional<OptionRefusal> vet(const std::vector<std::string>& words) {
    if (auto r = vet_program(words.front())) return r;
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.size() < 2 || w[0] != '-')
        return refuse("'" + w + "' is not an ssh option: ssh would take it for the host name",
                      "Leave only ssh options in the remote shell; the host comes from the "
                      "source or destination.");
      if (w == "--") return refuse("'--' ends ssh's options", "Remove it from the remote shell.");
      for (size_t k = 1; k < w.size(); ++k) {
        char c = w[k];
        if (kSshValueLetters.find(c) != std::string_view::npos) {
          std::string value = w.substr(k + 1);
          if (value.empty()) {
            if (i + 1 >= words.size())
              return refuse(std::string("-") + c + " has no value", "Complete the option.");
            value = words[++i];
          }
          if (auto r = vet_valued(c, value)) return r;
          break;
        }
        if (kSshFlagLetters.find(c) == std::string_view::npos)
          return refuse(std::string("-") + c + " is not an ssh option this check knows",
                        "Remove it from the remote shell for the dry run.");
        if (auto r = vet_letter(c)) return r;
      }
    }
    return std::nullopt;
  }

 private:
  std::optional<OptionRefusal> refuse(std::string why, std::string fix) const {
    return OptionRefusal{option_, std::move(why), std::move(fix)};
  }

  std::optional<OptionRefusal> vet_program(const std::string& program) const {
    if (base_name(program) != "ssh")
      return refuse("rsync would run '" + program +
                        "' as the remote shell, even in a dry run; the check only lets rsync "
                        "start ssh",
                    "Use ssh as the job's remote shell (`-e 'ssh -p PORT -i KEY'`); check other "
                    "transports separately.");
    if (program.find('/') != std::string::npos && program[0] != '/')
      return refuse("the remote shell '" + program + "' is a relative path",
                    "Name ssh by its absolute path or just as `ssh`.");
    if (as_root_ && program[0] == '/') {
      if (std::string why = support::untrusted_program_reason(program); !why.empty())
        return refuse("as root, rsync would run " + program + ", but " + why,
                      std::string("Use the system's ssh (`ssh`), or: ") + kSetRunAs);
    }
    return std::nullopt;
  }

  std::optional<OptionRefusal> vet_letter(char c) const {
    if (auto why = always_refused_letter(c); !why.empty())
      return refuse(
          std::string("ssh -") + c + " " + std::string(why) + "; a dry run must not do that",
          std::string("Remove -") + c + " from the remote shell for the dry run.");
    if (auto why = root_refused_letter(c); as_root_ && !why.empty())
      return refuse(std::string("ssh -") + c + " " + std::string(why), kSetRunAs);
    return std::nullopt;
  }

  std::optional<OptionRefusal> vet_valued(char c, const std::string& value) const {
    if (auto why = always_refused_letter(c); !why.empty())
      return refuse(
          std::string("ssh -") + c + " " + std::string(why) + "; a dry run must not do that",
          std::string("Remove -") + c + " from the remote shell for the dry run.");
    if (c == 'o') return vet_config_option(value);
    if (c == 'i') return vet_file("-i", value);
    if (c == 'F' && value != "none" && value != "/dev/null") return vet_file("-F", value);
    return std::nullopt;
  }

  std::optional<OptionRefusal> vet_config_option(const std::string& option) const {
    size_t split = option.find_first_of("= \t");
    std::string key = lower(option.substr(0, split));
    std::string value;
    if (split != std::string::npos) {
      size_t start = option.find_first_not_of("= \t", split);
      if (start != std::string::npos) value = option.substr(start);
    }
    if (auto why = always_refused_keyword(key); !why.empty())
      return refuse("ssh -o " + option.substr(0, split) + " " + std::string(why) +
                        "; a dry run must not do that",
                    "Remove it from the remote shell for the dry run (a ProxyJump host can "
                    "replace a ProxyCommand).");
    if (auto why = root_refused_keyword(key); as_root_ && !why.empty() && lower(value) != "no")
      return refuse("ssh -o " + option.substr(0, split) + " " + std::string(why), kSetRunAs);
    if (file_keyword(key) && lower(value) != "none") return vet_file("-o " + option, value);
    return std::nullopt;
  }

  std::optional<OptionRefusal> vet_file(const std::string& what, const std::string& path) const {
    if (!as_root_) return std::nullopt;
    if (path.find('%') != std::string::npos)
      return refuse("as root, ssh would read a file named with % tokens (" + what +
                        "), which the check cannot verify",
                    std::string("Give the full path, or: ") + kSetRunAs);
    std::string risk = root_read_risk(expand_home(path));
    if (risk.empty()) return std::nullopt;
    return refuse("as root, ssh would read " + path + " (" + what + "), but " + risk +
                      ": whoever can change it can make root's ssh read a file of their "
                      "choosing (a link to root's own key)",
                  std::string("Keep that file where only root can change it, or: ") + kSetRunAs);
  }

  std::string option_;
  bool as_root_;
};

}  // namespace

std::optional<std::vector<std::string>> split_remote_shell(const std::string& command) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false, squote = false, dquote = false;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' && !squote && !dquote) {
      if (in_word) words.push_back(cur), cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (dquote && c == '\\' && i + 1 < command.size() &&
        (command[i + 1] == '\\' || command[i + 1] == '"'))
      cur += command[++i];
    else if (c == '\'' && !dquote)
      squote = !squote;
    else if (c == '"' && !squote)
      dquote = !dquote;
    else
      cur += c;
  }
  if (squote || dquote) return std::nullopt;
  if (in_word) words.push_back(cur);
  return words;
}

std::string root_read_risk(const std::string& path) {
  if (::geteuid() != 0 || path == "/dev/null") return {};
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    auto slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? "."
                         : slash == 0               ? "/"
                                                    : path.substr(0, slash);
    std::string why = support::untrusted_path_reason(parent);
    return why.empty() ? std::string() : path + " does not exist and " + why;
  }
  return support::untrusted_path_reason(path);
}

std::optional<OptionRefusal> vet_remote_shell(const std::string& option_text,
                                              const std::string& command, bool as_root) {
  auto words = split_remote_shell(command);
  if (!words)
    return OptionRefusal{option_text, "a quote in the remote shell is never closed",
                         "Close the quote."};
  if (words->empty())
    return OptionRefusal{option_text, "the remote shell is empty", "Name ssh and its options."};
  return SshVetter(option_text, as_root).vet(*words);
}

}  // namespace backup_doctor::rsync
