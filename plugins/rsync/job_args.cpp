#include "job_args.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace backup_doctor::rsync {
namespace {

enum class Kind {
  plain,          // passed on
  mkpath,         // passed on, noted
  relative,       // passed on, noted
  output,         // changes the output we parse: dropped and listed
  ours,           // the check adds it itself: dropped silently
  writes,         // writes a file even in a dry run: dropped and listed
  not_job,        // not a client job: refused
  follows_links,  // follows symbolic links in the tree: refused as root
  reads_file,     // rsync reads the named file: refused as root unless only root can change it
  password_file,  // reads_file, or dropped when the check brings its own
  dir_merge,      // reads filter files in every directory of the tree: refused as root
  filter,         // a filter rule: merge files are read_file, dir-merge is dir_merge
  local_dir,      // a directory rsync compares against: checked like the destination
  rsh,            // the remote shell: vet_remote_shell
  rsync_path,     // the remote rsync command: a program, not a shell command
  remote_option,  // an option for the remote side: the same rules again
};

struct Spec {
  std::string_view name;  // long name without "--", or empty
  char letter;            // short option, or 0
  bool value;
  Kind kind;
};

// Every option of rsync 3.2-3.5 (rsync --help), with what it does in a dry run.
constexpr Spec kOptions[] = {
    {"verbose", 'v', false, Kind::plain},
    {"no-motd", 0, false, Kind::plain},
    {"checksum", 'c', false, Kind::plain},
    {"archive", 'a', false, Kind::plain},
    {"recursive", 'r', false, Kind::plain},
    {"inc-recursive", 0, false, Kind::plain},
    {"i-r", 0, false, Kind::plain},
    {"relative", 'R', false, Kind::relative},
    {"no-implied-dirs", 0, false, Kind::plain},
    {"backup", 'b', false, Kind::plain},
    {"backup-dir", 0, true, Kind::plain},
    {"suffix", 0, true, Kind::plain},
    {"update", 'u', false, Kind::plain},
    {"inplace", 0, false, Kind::plain},
    {"append", 0, false, Kind::plain},
    {"append-verify", 0, false, Kind::plain},
    {"dirs", 'd', false, Kind::plain},
    {"old-dirs", 0, false, Kind::plain},
    {"old-d", 0, false, Kind::plain},
    {"mkpath", 0, false, Kind::mkpath},
    {"links", 'l', false, Kind::plain},
    {"copy-links", 'L', false, Kind::follows_links},
    {"copy-unsafe-links", 0, false, Kind::follows_links},
    {"safe-links", 0, false, Kind::plain},
    {"insecure-links", 0, false, Kind::follows_links},
    {"confine-root", 0, true, Kind::plain},
    {"munge-links", 0, false, Kind::plain},
    {"copy-dirlinks", 'k', false, Kind::follows_links},
    {"keep-dirlinks", 'K', false, Kind::follows_links},
    {"hard-links", 'H', false, Kind::plain},
    {"perms", 'p', false, Kind::plain},
    {"executability", 'E', false, Kind::plain},
    {"chmod", 0, true, Kind::plain},
    {"acls", 'A', false, Kind::plain},
    {"xattrs", 'X', false, Kind::plain},
    {"owner", 'o', false, Kind::plain},
    {"group", 'g', false, Kind::plain},
    {"devices", 0, false, Kind::plain},
    {"copy-devices", 0, false, Kind::plain},
    {"write-devices", 0, false, Kind::plain},
    {"specials", 0, false, Kind::plain},
    {"drop-D", 0, false, Kind::plain},
    {"", 'D', false, Kind::plain},
    {"times", 't', false, Kind::plain},
    {"atimes", 'U', false, Kind::plain},
    {"open-noatime", 0, false, Kind::plain},
    {"crtimes", 'N', false, Kind::plain},
    {"omit-dir-times", 'O', false, Kind::plain},
    {"omit-link-times", 'J', false, Kind::plain},
    {"super", 0, false, Kind::plain},
    {"fake-super", 0, false, Kind::plain},
    {"sparse", 'S', false, Kind::plain},
    {"preallocate", 0, false, Kind::plain},
    {"dry-run", 'n', false, Kind::ours},
    {"whole-file", 'W', false, Kind::plain},
    {"checksum-choice", 0, true, Kind::plain},
    {"cc", 0, true, Kind::plain},
    {"one-file-system", 'x', false, Kind::plain},
    {"block-size", 'B', true, Kind::plain},
    {"rsh", 'e', true, Kind::rsh},
    {"rsync-path", 0, true, Kind::rsync_path},
    {"existing", 0, false, Kind::plain},
    {"ignore-non-existing", 0, false, Kind::plain},
    {"ignore-existing", 0, false, Kind::plain},
    {"remove-source-files", 0, false, Kind::plain},
    {"del", 0, false, Kind::plain},
    {"delete", 0, false, Kind::plain},
    {"delete-before", 0, false, Kind::plain},
    {"delete-during", 0, false, Kind::plain},
    {"delete-delay", 0, false, Kind::plain},
    {"delete-after", 0, false, Kind::plain},
    {"delete-excluded", 0, false, Kind::plain},
    {"ignore-missing-args", 0, false, Kind::plain},
    {"delete-missing-args", 0, false, Kind::plain},
    {"ignore-errors", 0, false, Kind::plain},
    {"force", 0, false, Kind::plain},
    {"max-delete", 0, true, Kind::plain},
    {"max-size", 0, true, Kind::plain},
    {"min-size", 0, true, Kind::plain},
    {"max-alloc", 0, true, Kind::plain},
    {"partial", 0, false, Kind::plain},
    {"partial-dir", 0, true, Kind::plain},
    {"delay-updates", 0, false, Kind::plain},
    {"prune-empty-dirs", 'm', false, Kind::plain},
    {"numeric-ids", 0, false, Kind::plain},
    {"usermap", 0, true, Kind::plain},
    {"groupmap", 0, true, Kind::plain},
    {"chown", 0, true, Kind::plain},
    {"timeout", 0, true, Kind::plain},
    {"contimeout", 0, true, Kind::plain},
    {"ignore-times", 'I', false, Kind::plain},
    {"size-only", 0, false, Kind::plain},
    {"modify-window", '@', true, Kind::plain},
    {"temp-dir", 'T', true, Kind::plain},
    {"fuzzy", 'y', false, Kind::plain},
    {"compare-dest", 0, true, Kind::local_dir},
    {"copy-dest", 0, true, Kind::local_dir},
    {"link-dest", 0, true, Kind::local_dir},
    {"compress", 'z', false, Kind::plain},
    {"compress-choice", 0, true, Kind::plain},
    {"zc", 0, true, Kind::plain},
    {"compress-level", 0, true, Kind::plain},
    {"zl", 0, true, Kind::plain},
    {"compress-threads", 0, true, Kind::plain},
    {"zt", 0, true, Kind::plain},
    {"skip-compress", 0, true, Kind::plain},
    {"cvs-exclude", 'C', false, Kind::dir_merge},
    {"filter", 'f', true, Kind::filter},
    {"", 'F', false, Kind::dir_merge},
    {"exclude", 0, true, Kind::plain},
    {"exclude-from", 0, true, Kind::reads_file},
    {"include", 0, true, Kind::plain},
    {"include-from", 0, true, Kind::reads_file},
    {"files-from", 0, true, Kind::reads_file},
    {"from0", '0', false, Kind::plain},
    {"old-args", 0, false, Kind::plain},
    {"secluded-args", 's', false, Kind::plain},
    {"protect-args", 0, false, Kind::plain},
    {"trust-sender", 0, false, Kind::plain},
    {"copy-as", 0, true, Kind::plain},
    {"address", 0, true, Kind::plain},
    {"port", 0, true, Kind::plain},
    {"sockopts", 0, true, Kind::plain},
    {"blocking-io", 0, false, Kind::plain},
    {"outbuf", 0, true, Kind::plain},
    {"stats", 0, false, Kind::ours},
    {"8-bit-output", '8', false, Kind::plain},
    {"human-readable", 'h', false, Kind::plain},
    {"progress", 0, false, Kind::output},
    {"", 'P', false, Kind::output},
    {"itemize-changes", 'i', false, Kind::ours},
    {"remote-option", 'M', true, Kind::remote_option},
    {"out-format", 0, true, Kind::output},
    {"log-format", 0, true, Kind::output},
    {"log-file", 0, true, Kind::writes},
    {"log-file-format", 0, true, Kind::writes},
    {"password-file", 0, true, Kind::password_file},
    {"early-input", 0, true, Kind::reads_file},
    {"list-only", 0, false, Kind::output},
    {"bwlimit", 0, true, Kind::plain},
    {"stop-after", 0, true, Kind::plain},
    {"time-limit", 0, true, Kind::plain},
    {"stop-at", 0, true, Kind::plain},
    {"fsync", 0, false, Kind::plain},
    {"write-batch", 0, true, Kind::writes},
    {"only-write-batch", 0, true, Kind::writes},
    {"read-batch", 0, true, Kind::not_job},
    {"protocol", 0, true, Kind::plain},
    {"iconv", 0, true, Kind::plain},
    {"checksum-seed", 0, true, Kind::plain},
    {"ipv4", '4', false, Kind::plain},
    {"ipv6", '6', false, Kind::plain},
    {"quiet", 'q', false, Kind::output},
    {"info", 0, true, Kind::output},
    {"debug", 0, true, Kind::output},
    {"stderr", 0, true, Kind::output},
    {"msgs2stderr", 0, false, Kind::output},
    {"server", 0, false, Kind::not_job},
    {"sender", 0, false, Kind::not_job},
    {"daemon", 0, false, Kind::not_job},
    {"config", 0, true, Kind::not_job},
    {"dparam", 0, true, Kind::not_job},
    {"detach", 0, false, Kind::not_job},
    {"version", 'V', false, Kind::not_job},
    {"help", 0, false, Kind::not_job},
};

const Spec* by_name(std::string_view name) {
  for (const auto& s : kOptions)
    if (!s.name.empty() && s.name == name) return &s;
  return nullptr;
}

const Spec* by_letter(char c) {
  for (const auto& s : kOptions)
    if (s.letter == c) return &s;
  return nullptr;
}

const char* kSetRunAs =
    "Set run_as to the account the job runs as: the dry run then reads and follows only what "
    "that account may.";

// "host:path" (a --files-from list on the remote side) rather than a local file.
bool remote_path(const std::string& v) {
  auto colon = v.find(':');
  return colon != std::string::npos && v.find('/') > colon;
}

// One option as the job gave it, and what to do with it.
struct Seen {
  const Spec* spec;
  std::string text;   // for messages and the ignored list: "--log-file=/x", "-e ssh"
  std::string value;  // when spec->value
};

class Filter {
 public:
  Filter(const JobArgsPolicy& policy, bool remote) : policy_(policy), remote_(remote) {}

  JobArgs run(const std::vector<std::string>& in) {
    for (size_t i = 0; i < in.size(); ++i) {
      const std::string& a = in[i];
      if (a.size() > 2 && a.rfind("--", 0) == 0)
        long_option(in, i);
      else if (a.size() > 1 && a[0] == '-' && a != "--")
        short_cluster(in, i);
      else
        refuse(a,
               "'" + a + "' is not an option" +
                   (a == "--" ? std::string(" ('--' would end the options)") : std::string()),
               "Put the job's sources in 'source' and its destination in 'destination'; 'args' "
               "holds options only.");
    }
    if (!remote_words_.empty()) add_remote_options();
    return std::move(out_);
  }

 private:
  void long_option(const std::vector<std::string>& in, size_t& i) {
    const std::string& a = in[i];
    size_t eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Spec* spec = by_name(name);
    if (spec == nullptr && name.rfind("no-", 0) == 0) {
      std::string rest = name.substr(3);
      if (by_name(rest) != nullptr || (rest.size() == 1 && by_letter(rest[0]) != nullptr)) {
        out_.args.push_back(a);  // --no-OPTION only turns something off
        return;
      }
    }
    if (spec == nullptr) {
      refuse(a,
             "the check does not know the rsync option '--" + name +
                 "', so it cannot tell whether it writes or runs something even in a dry run",
             "Check the spelling (`rsync --help`); leave options that the dry run cannot "
             "judge out of 'args'.");
      return;
    }
    Seen seen{spec, a, {}};
    std::vector<std::string> raw{a};
    if (spec->value) {
      if (eq != std::string::npos) {
        seen.value = a.substr(eq + 1);
      } else if (i + 1 < in.size()) {
        seen.value = in[++i];
        seen.text += " " + seen.value;
        raw.push_back(seen.value);
      } else {
        refuse(a, "'" + a + "' has no value", "Give its value.");
        return;
      }
    }
    if (decide(seen)) out_.args.insert(out_.args.end(), raw.begin(), raw.end());
  }

  // "-avz", "-e" "ssh -p 22", "-essh", "-e=ssh" (popt drops the '='), "-M--fake-super".
  void short_cluster(const std::vector<std::string>& in, size_t& i) {
    const std::string& a = in[i];
    std::string kept = "-";
    std::string dropped;
    std::string next_value;
    for (size_t k = 1; k < a.size(); ++k) {
      char c = a[k];
      const Spec* spec = by_letter(c);
      if (spec == nullptr) {
        refuse(a, std::string("the check does not know the rsync option '-") + c + "'",
               "Check the spelling (`rsync --help`).");
        return;
      }
      if (!spec->value) {
        Seen seen{spec, std::string("-") + c, {}};
        if (decide(seen))
          kept += c;
        else if (spec->kind == Kind::output)
          dropped += c;
        continue;
      }
      std::string attached = a.substr(k + 1);
      Seen seen{spec, std::string("-") + c, {}};
      bool in_next = attached.empty();
      if (in_next) {
        if (i + 1 >= in.size()) {
          refuse(a, std::string("-") + c + " has no value", "Give its value.");
          return;
        }
        seen.value = in[++i];
        seen.text += " " + seen.value;
      } else {
        seen.value = attached[0] == '=' ? attached.substr(1) : attached;
        seen.text += attached;
      }
      if (decide(seen)) {
        kept += c + attached;
        if (in_next) next_value = seen.value;
      }
      break;
    }
    if (!dropped.empty()) out_.ignored.push_back("-" + dropped);
    if (kept.size() > 1) out_.args.push_back(kept);
    if (!next_value.empty()) out_.args.push_back(next_value);
  }

  // True: pass the option on. Otherwise it was dropped, refused or taken aside.
  bool decide(const Seen& s) {
    const bool root = policy_.as_root;
    switch (s.spec->kind) {
      case Kind::plain:
        return true;
      case Kind::mkpath:
        out_.mkpath = true;
        return true;
      case Kind::relative:
        out_.relative = true;
        return true;
      case Kind::output:
      case Kind::writes:
        if (s.text.size() > 2 && s.text[1] == '-') out_.ignored.push_back(s.text);
        return false;
      case Kind::ours:
        return false;
      case Kind::not_job:
        refuse(s.text,
               "'" + s.text +
                   "' is not part of a client job (it serves, reads a batch "
                   "or only prints information)",
               "Remove it from 'args'.");
        return false;
      case Kind::follows_links:
        if (!root) return true;
        refuse(s.text,
               "'" + s.text +
                   "' makes rsync follow symbolic links; as root it would "
                   "follow links the backup account can plant to what it cannot read, and "
                   "list it",
               kSetRunAs);
        return false;
      case Kind::password_file:
        if (policy_.own_password_file) {
          out_.ignored.push_back(s.text);
          return false;
        }
        return file_allowed(s);
      case Kind::reads_file:
        return file_allowed(s);
      case Kind::dir_merge:
        if (!root) return true;
        refuse(s.text,
               "'" + s.text +
                   "' makes rsync read a filter file in every directory of "
                   "the tree; as root, a link there would make it read what the backup "
                   "account cannot",
               kSetRunAs);
        return false;
      case Kind::filter:
        return filter_allowed(s);
      case Kind::local_dir:
        if (!s.value.empty() && s.value[0] == '/') out_.local_dirs.push_back(s.value);
        return true;
      case Kind::rsh:
        if (auto r = vet_remote_shell(s.text, s.value, root)) {
          out_.refused.push_back(*r);
          return false;
        }
        return true;
      case Kind::rsync_path:
        return rsync_path_allowed(s);
      case Kind::remote_option:
        if (remote_) {
          refuse(s.text, "a remote option cannot carry another remote option",
                 "Give each remote option its own -M.");
          return false;
        }
        remote_words_.push_back(s.value);
        return false;
    }
    return false;
  }

  bool file_allowed(const Seen& s) {
    if (!policy_.as_root || s.value == "-" || remote_path(s.value)) return true;
    std::string risk = root_read_risk(s.value);
    if (risk.empty()) return true;
    refuse(s.text,
           "as root, rsync would read " + s.value + ", but " + risk +
               ": a link put there would make root read a file of that account's "
               "choosing and show it in rsync's messages",
           std::string("Keep the file where only root can change it, or: ") + kSetRunAs);
    return false;
  }

  // "merge FILE", ". FILE", "merge,- FILE" read FILE; "dir-merge NAME", ": NAME" read NAME in
  // every directory.
  bool filter_allowed(const Seen& s) {
    size_t start = s.value.find_first_not_of(' ');
    std::string rule = start == std::string::npos ? std::string() : s.value.substr(start);
    size_t end = rule.find_first_of(" _");
    std::string head = rule.substr(0, end);
    std::string word = head.substr(0, head.find(','));
    bool merge = word == "merge" || (!head.empty() && head[0] == '.');
    bool dir_merge = word == "dir-merge" || (!head.empty() && head[0] == ':');
    if (dir_merge) return decide(Seen{by_letter('F'), s.text, {}});
    if (!merge) return true;
    std::string file = end == std::string::npos ? std::string() : rule.substr(end + 1);
    return file_allowed(Seen{s.spec, s.text, file});
  }

  bool rsync_path_allowed(const Seen& s) {
    size_t bad = s.value.find_first_of(";&|`$<>(){}\n\\");
    if (bad == std::string::npos) return true;
    refuse(s.text,
           std::string("the remote shell runs --rsync-path as a shell command; with '") +
               s.value[bad] +
               "' in it, it does more than start rsync on the remote "
               "host, even in a dry run",
           "Give only the remote rsync program (and sudo if the job uses it), e.g. "
           "--rsync-path='sudo rsync'; prepare the remote side separately.");
    return false;
  }

  void add_remote_options() {
    JobArgs remote = Filter(policy_, true).run(remote_words_);
    for (const auto& w : remote.args) out_.args.push_back("--remote-option=" + w);
    for (const auto& w : remote.ignored) out_.ignored.push_back("-M" + w);
    for (auto r : remote.refused) {
      r.option = "-M" + r.option;
      r.why = "as a remote option: " + r.why;
      out_.refused.push_back(r);
    }
    out_.local_dirs.insert(out_.local_dirs.end(), remote.local_dirs.begin(),
                           remote.local_dirs.end());
  }

  void refuse(const std::string& option, std::string why, std::string fix) {
    out_.refused.push_back(OptionRefusal{option, std::move(why), std::move(fix)});
  }

  JobArgsPolicy policy_;
  bool remote_;
  JobArgs out_;
  std::vector<std::string> remote_words_;
};

}  // namespace

JobArgs filter_job_args(const std::vector<std::string>& in, const JobArgsPolicy& policy) {
  return Filter(policy, false).run(in);
}

}  // namespace backup_doctor::rsync
