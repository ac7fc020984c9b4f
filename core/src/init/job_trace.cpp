// Following a job from its crontab line or ExecStart= through the scripts it runs and sources,
// keeping the environment (assignments, export, cd, exec redirections) in script order, so that
// `pg_dump "$DB" > "$DIR/$DB_$(date +%F).sql"` is read with the values DIR and DB had there.
#include "init/backup_commands.hpp"
#include "init/host_files.hpp"
#include "init/traced_job.hpp"
#include "init/words.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

namespace backup_doctor::init {
namespace {

constexpr int kMaxDepth = 8;
// Scripts a job may make init read (sourced, run, sh -c), however they include each other.
constexpr int kMaxReads = 256;
constexpr size_t kMaxVariables = ShellEnvironment::kMaxVariables;
constexpr size_t kMaxCommand = 2 << 20;
constexpr size_t kMaxLookups = 2000;
const char* const kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Programs that run another command given after their own options.
bool wrapper(const std::string& p) {
  static const std::set<std::string> kWrappers = {
      "nice",    "ionice",     "nohup",   "timeout", "chronic", "stdbuf",      "env",
      "flock",   "sudo",       "runuser", "time",    "setsid",  "systemd-cat", "exec",
      "command", "caffeinate", "cgexec",  "chrt",    "taskset", "trickle"};
  return kWrappers.count(p) > 0;
}

class Tracer {
 public:
  Tracer(const HostFiles& host, const ScheduledJob& job, TracedJob& out) : host_(host), out_(out) {
    out_.job = job;
    for (const auto& [user, home] : host.homes()) {
      env_.homes[user] = home;
      if (user == job.user) out_.home = home;
    }
    env_.vars["HOME"] = {out_.home.empty() ? "/root" : out_.home, true};
    env_.vars["USER"] = env_.vars["LOGNAME"] = {job.user, true};
    env_.vars["PATH"] = {kDefaultPath, true};
    env_.vars["SHELL"] = {"/bin/sh", true};
    for (const auto& [name, value] : job.environment) env_.vars[name] = {value, true};
    cwd_ = job.working_directory.empty() ? env_.vars["HOME"].text : job.working_directory;
  }

  void run() {
    const std::string file = out_.job.via.empty() ? out_.job.source : out_.job.via;
    walk(parse_shell(out_.job.command, out_.job.line), file, 0, true);
  }

 private:
  void note(const std::string& file, int line, const std::string& message) {
    out_.notes.push_back({file + ":" + std::to_string(line), message});
  }

  void walk(const ShellScript& script, const std::string& file, int depth, bool top) {
    for (const auto& n : script.notes) note(file, n.line, n.message);
    std::vector<const SimpleCommand*> pipeline;
    for (const auto& c : script.commands) {
      if (!pipeline.empty() && pipeline.back()->pipeline != c.pipeline) {
        walk_pipeline(pipeline, file, depth, top);
        pipeline.clear();
      }
      pipeline.push_back(&c);
    }
    if (!pipeline.empty()) walk_pipeline(pipeline, file, depth, top);
  }

  void walk_pipeline(const std::vector<const SimpleCommand*>& syntax, const std::string& file,
                     int depth, bool top) {
    std::vector<CommandLine> pipeline;
    for (const SimpleCommand* s : syntax) {
      if (!s->loop_variable.empty()) env_.vars[s->loop_variable] = {"*", false};
      CommandLine c = expand(*s);
      if (c.argv.size() == 1 && c.program() == "exec") {  // exec >> log 2>&1: the rest logs there
        consider_log(c, 10, file);
        continue;
      }
      if (c.argv.empty()) {  // NAME=value alone, or a lone redirection (`> file` truncates it)
        for (const auto& [name, value] : c.env) assign(name, {value.text, value.exact});
        continue;
      }
      unwrap(c);
      pipeline.push_back(std::move(c));
    }
    if (pipeline.empty()) return;
    // A backup program's output is the backup, not a log.
    const bool writes_backup =
        std::any_of(pipeline.begin(), pipeline.end(), [](const CommandLine& c) {
          static const std::set<std::string> kToStdout = {
              "pg_dump",   "pg_dumpall", "tar",     "bsdtar", "gpg",   "gpg2",
              "gzip",      "pigz",       "zstd",    "xz",     "bzip2", "lz4",
              "sha256sum", "sha512sum",  "sha1sum", "md5sum", "b2sum", "cat"};
          return kToStdout.count(c.program()) > 0;
        });
    for (const CommandLine& c : pipeline) {
      if (!writes_backup && (top || c.stdout_file)) consider_log(c, top ? 10 : 1, file);
      remember_marker(c, pipeline.size() == 1 ? c.stdout_file : std::nullopt);
    }
    if (pipeline.size() == 1 && builtin(pipeline[0], file, depth)) return;
    if (pipeline.size() == 1 && follow_script(pipeline[0], file, depth, top)) return;
    recognise_pipeline(pipeline, env_, file, cwd_, out_);
  }

  CommandLine expand(const SimpleCommand& s) {
    CommandLine c;
    c.syntax = &s;
    for (const auto& a : s.assignments) c.env[a.name] = expand_word(a.value, env_);
    // A command line longer than the kernel takes (ARG_MAX) is cut: `tar czf x $BIG $BIG ...`
    // would otherwise make a few bytes of script gigabytes of words.
    size_t length = 0;
    for (const auto& w : s.words) {
      if ((length += w.raw.size()) > kMaxCommand) break;
      c.argv.push_back(expand_word(w, env_));
      if ((length += c.argv.back().text.size()) > kMaxCommand) break;
    }
    for (const auto& r : s.redirects) {
      if (r.op == ">&" && r.target.literal() == "1") continue;  // 2>&1: with stdout
      const bool out = r.op == ">" || r.op == ">>" || r.op == ">|" || r.op == "&>" || r.op == "&>>";
      if (!out) continue;
      Expanded target = expand_word(r.target, env_);
      if (target.text == "/dev/null") continue;
      if (r.fd == 2)
        c.stderr_file = target;
      else
        c.stdout_file = target;
    }
    return c;
  }

  // sudo -u USER cmd, nice -n 10 cmd, timeout 1h cmd, flock /run/x.lock cmd, env A=B cmd, ...
  void unwrap(CommandLine& c) {
    while (!c.argv.empty() && wrapper(c.program())) {
      const std::string p = c.program();
      size_t i = 1;
      bool took_argument = false;  // timeout's duration, flock's lock file
      while (i < c.argv.size()) {
        const std::string& w = c.argv[i].text;
        if ((p == "sudo" || p == "runuser") && (w == "-u" || w == "--user") &&
            i + 1 < c.argv.size()) {
          c.run_as = c.argv[i + 1].text;
          i += 2;
        } else if (p == "env" && w.find('=') != std::string::npos && w[0] != '-') {
          c.env[w.substr(0, w.find('='))] = {w.substr(w.find('=') + 1), c.argv[i].exact, {}};
          ++i;
        } else if (w == "--") {
          ++i;
          break;
        } else if (!w.empty() && w[0] == '-') {
          const bool valued =
              (p == "nice" && w == "-n") || (p == "ionice" && (w == "-c" || w == "-n")) ||
              (p == "timeout" && (w == "-s" || w == "-k")) || (p == "sudo" && w == "-g") ||
              (p == "flock" && (w == "-w" || w == "-E"));
          i += valued ? 2 : 1;
        } else if ((p == "timeout" || p == "flock") && !took_argument) {
          took_argument = true;
          ++i;
        } else {
          break;
        }
      }
      c.argv.erase(c.argv.begin(), c.argv.begin() + static_cast<long>(std::min(i, c.argv.size())));
    }
  }

  bool builtin(const CommandLine& c, const std::string& file, int depth) {
    const std::string p = c.program();
    if (p == "export" || p == "readonly" || p == "local" || p == "declare" || p == "typeset") {
      for (size_t i = 1; i < c.syntax->words.size(); ++i) {
        if (auto a = split_assignment(c.syntax->words[i])) {
          Expanded v = expand_word(a->value, env_);
          assign(a->name, {v.text, v.exact});
        }
      }
      return true;
    }
    if (p == "cd" && c.argv.size() >= 2) {
      cwd_ = c.argv[1].text;
      return true;
    }
    if ((p == "." || p == "source") && c.argv.size() >= 2) {
      follow(c.argv[1], file, c.syntax->line, depth, false);
      return true;
    }
    if (p == "eval") {
      note(file, c.syntax->line, "eval: the command it builds at run time is not read");
      return true;
    }
    if (p == "run-parts" && c.argv.size() >= 2) {
      note(file, c.syntax->line,
           "run-parts " + c.argv.back().text + ": its scripts are not followed");
      return true;
    }
    return p == "set" || p == "umask" || p == "trap" || p == "shopt" || p == ":" || p == "true";
  }

  // A command that is a shell script (by path, on PATH, or as `bash script`) is read in turn.
  bool follow_script(const CommandLine& c, const std::string& file, int depth, bool top) {
    std::string p = c.program();
    size_t at = 0;
    if ((p == "sh" || p == "bash" || p == "dash") && c.argv.size() >= 3 && c.argv[1].text == "-c" &&
        c.argv[2].exact) {  // sh -c 'commands': read them as a script of their own line
      if (depth >= kMaxDepth)
        note(file, c.syntax->line, "sh -c nests too deep; what it runs is not read");
      else if (spend_read())
        walk(parse_shell(c.argv[2].text, c.syntax->line), file, depth + 1, top);
      return true;
    }
    if ((p == "sh" || p == "bash" || p == "dash") && c.argv.size() >= 2 &&
        !c.argv[1].text.starts_with("-"))
      at = 1;
    else if (p == "sh" || p == "bash" || p == "dash")
      return false;
    const Expanded& target = c.argv[at];
    if (!target.exact || is_backup_program(base_name(target.text))) return false;
    std::string path = target.text;
    if (path.find('/') == std::string::npos) {
      path = which(path);
      if (path.empty()) return false;
    } else if (path[0] != '/') {
      path = cwd_ + "/" + path;
    }
    if (!host_.is_file(path)) return false;
    if (top && out_.script.empty()) out_.script = path;
    // NAME=value before the script is its environment, and only its.
    const auto before = env_.vars;
    for (const auto& [name, value] : c.env) env_.vars[name] = {value.text, value.exact};
    follow({path, true, {}}, file, c.syntax->line, depth, true);
    env_.vars = before;
    return true;
  }

  // Each variable may hold 4 KiB and is copied for each script a job runs: they are bounded.
  void assign(const std::string& name, const ShellValue& value) {
    if (env_.vars.size() < kMaxVariables || env_.vars.count(name)) env_.vars[name] = value;
  }

  // A command's program on the job's PATH. Each look-up opens a file per PATH entry, and a
  // script may hold a million commands and a PATH of a thousand entries: they are remembered,
  // and bounded (a script found after that is not followed).
  std::string which(const std::string& program) {
    const ShellValue* search = env_.find("PATH");
    const std::string path = search ? search->text : kDefaultPath;
    const std::string key = program + '\n' + path;
    if (auto it = which_cache_.find(key); it != which_cache_.end()) return it->second;
    if (which_cache_.size() >= kMaxLookups) return "";
    return which_cache_[key] = host_.which(program, path);
  }

  // False (noted once) when the job has made init read kMaxReads scripts already.
  bool spend_read() {
    if (reads_ < kMaxReads) return ++reads_, true;
    if (reads_ == kMaxReads && ++reads_)
      note(out_.job.source, out_.job.line,
           "the job's scripts include each other more than " + std::to_string(kMaxReads) +
               " times; the rest is not read");
    return false;
  }

  void follow(const Expanded& target, const std::string& file, int line, int depth,
              bool new_process) {
    if (!target.exact) {
      note(file, line,
           "'" + target.text + "' is not a path init can work out (" +
               (target.unknown.empty() ? std::string("unknown") : target.unknown.front()) +
               "); not read");
      return;
    }
    // One file has many spellings (/opt/./x.sh, /opt//x.sh): the cycle check compares one.
    std::string path =
        std::filesystem::path(target.text[0] == '/' ? target.text : cwd_ + "/" + target.text)
            .lexically_normal()
            .string();
    if (depth >= kMaxDepth || std::count(stack_.begin(), stack_.end(), path)) {
      note(file, line, path + " is already being read (or scripts nest too deep); not read again");
      return;
    }
    if (!host_.owner_can_read(path, file)) {
      note(file, line,
           path + " is a file the owner of " + file +
               " cannot read; not read (as root, init would read it for that account)");
      return;
    }
    if (!spend_read()) return;
    std::string why;
    auto text = host_.read(path, &why);
    if (!text) {
      note(file, line, path + " not read: " + why);
      return;
    }
    if (text->starts_with("#!") && text->find("sh", 0) > text->find('\n')) {
      note(file, line,
           path + " is not a shell script (" + text->substr(2, text->find('\n') - 2) +
               "); not read");
      return;
    }
    out_.scripts.push_back({path, line, file});
    stack_.push_back(path);
    const std::string saved_cwd = cwd_;
    const auto saved_env = env_.vars;
    walk(parse_shell(*text), path, depth + 1, false);
    stack_.pop_back();
    if (new_process) {  // a child's cd and assignments do not come back
      cwd_ = saved_cwd;
      env_.vars = saved_env;
    }
  }

  // The job's log: where its own output is redirected (crontab line, exec > log), else where
  // its commands append their messages.
  void consider_log(const CommandLine& c, int weight, const std::string& file) {
    for (const auto* f : {&c.stdout_file, &c.stderr_file}) {
      if (!*f) continue;
      const std::string& t = (*f)->text;
      const bool looks_like_log = t.ends_with(".log") || t.starts_with("/var/log/") || weight > 1;
      if (!looks_like_log) continue;
      int& score = log_scores_[t];
      score += weight;
      if (!out_.log || score > log_scores_[out_.log->text]) {
        out_.log = **f;
        out_.log_named_in = file;
      }
    }
    if (c.program() == "tee" && c.argv.size() >= 2) {
      CommandLine t = c;
      t.stdout_file = c.argv.back();
      t.argv.clear();
      consider_log(t, 2, file);
    }
  }

  // `echo "... completed successfully" >> $LOG`: the line a good run ends with.
  void remember_marker(const CommandLine& c, const std::optional<Expanded>& to) {
    const std::string p = c.program();
    if ((p != "echo" && p != "printf" && p != "logger") ||
        (to && out_.log && to->text != out_.log->text))
      return;
    std::string text;
    for (size_t i = 1; i < c.argv.size(); ++i) {
      if (c.argv[i].text.starts_with("-") && text.empty()) continue;
      text += (text.empty() ? "" : " ") + c.argv[i].text;
    }
    const std::string l = lower(text);
    if (l.find("success") == std::string::npos && l.find("complete") == std::string::npos &&
        l.find("finished") == std::string::npos)
      return;
    if (l.find("fail") != std::string::npos || l.find("error") != std::string::npos) return;
    // The longest stretch without anything unknown ($(date) prefixes and the like).
    std::string best, piece;
    for (char ch : text + "*") {
      if (ch == '*' || ch == '?' || ch == '[' || ch == ']') {
        if (piece.size() > best.size()) best = piece;
        piece.clear();
      } else {
        piece += ch;
      }
    }
    const size_t a = best.find_first_not_of(" :-[]");
    if (a == std::string::npos) return;
    best = best.substr(a);
    while (!best.empty() && (best.back() == ' ' || best.back() == '.' || best.back() == '!'))
      best.pop_back();
    // files.log_scan reads a marker with regex characters as a regex: "(ok) |" would match
    // every line (an empty alternative), so every error would look followed by a success.
    out_.success_marker.clear();
    for (char ch : best) {
      if (std::string_view(".^$|()[]{}*+?\\").find(ch) != std::string_view::npos)
        out_.success_marker += '\\';
      out_.success_marker += ch;
    }
  }

  const HostFiles& host_;
  TracedJob& out_;
  ShellEnvironment env_;
  std::string cwd_;
  std::vector<std::string> stack_;
  std::map<std::string, int> log_scores_;
  int reads_ = 0;
  std::map<std::string, std::string> which_cache_;
};

}  // namespace

TracedJob trace_job(const HostFiles& host, const ScheduledJob& job) {
  TracedJob out;
  Tracer(host, job, out).run();
  return out;
}

}  // namespace backup_doctor::init
