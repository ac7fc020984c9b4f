// resources.backup_process: running backup processes, how long they have run, their CPU and
// I/O priority, and whether they moved any data during a short sample (a hung backup does not).
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include "figures.hpp"
#include "processes.hpp"
#include "procfs.hpp"

#include <unistd.h>
#include <map>

namespace backup_doctor::resources {

using nlohmann::json;
using sdk::duration_param;
using sdk::errno_text;
using sdk::number_param;
using sdk::optional_duration;
using sdk::string_list;
using sdk::string_param;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "names": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
      "default": ["pg_dump", "pg_dumpall", "pg_basebackup", "rsync", "tar", "rclone", "*backup*.sh"],
      "description": "Process names (shell globs) that count as backups. Matched against the process name, the program's file name, and the script an interpreter runs (bash /opt/backup-scripts/db_backup.sh matches \"*backup*.sh\"). Default: pg_dump, pg_dumpall, pg_basebackup, rsync, tar, rclone, *backup*.sh."},
    "sample": {"$ref": "bd:duration", "default": "5s",
      "description": "How long to watch each backup process for I/O progress (/proc/PID/io read twice). Default 5s."},
    "max_runtime": {"$ref": "bd:duration",
      "description": "Warn about a backup running longer than this (e.g. \"6h\"); fail when it also made no progress. Optional."},
    "require_idle_io": {"type": "boolean", "default": false,
      "description": "Warn when a backup process is not in the idle I/O scheduling class (ionice -c 3), so it competes with the application for the disk. Default false (the class is only reported)."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many processes are listed in the details. Default 20."},
    "proc_root": {"type": "string", "minLength": 1, "default": "/proc",
      "description": "Where procfs is mounted. Default /proc; tests point it at a fixture tree (the I/O class is then not asked from the kernel)."}
  }
})";

const std::vector<std::string> kDefaultNames = {"pg_dump", "pg_dumpall", "pg_basebackup", "rsync",
                                                "tar",     "rclone",     "*backup*.sh"};

// A process whose owner /proc did not tell (uid -1) is "?".
std::string owner_of(int uid) {
  return uid < 0 ? "?" : sdk::user_name(static_cast<uid_t>(uid));
}

const char* state_words(char s) {
  switch (s) {
    case 'R':
      return "running";
    case 'S':
      return "sleeping";
    case 'D':
      return "in uninterruptible I/O wait";
    case 'T':
      return "stopped";
    case 't':
      return "stopped by a tracer";
    case 'Z':
      return "a zombie (exited, not reaped)";
    case 'I':
      return "idle";
    default:
      return "in an unknown state";
  }
}

// Processes sharing one finding, so that twenty stuck rsyncs make one line, not twenty.
struct Category {
  std::vector<std::string> items, pids;
  bool postgres = false;
  void add(std::string item, std::string pid, bool pg) {
    items.push_back(std::move(item));
    if (std::find(pids.begin(), pids.end(), pid) == pids.end()) pids.push_back(std::move(pid));
    postgres = postgres || pg;
  }
  bool empty() const { return items.empty(); }
  size_t size() const { return items.size(); }
  // "pg_dump (pid 100, 10m)" or "3 backup processes: a, b and 1 more"
  std::string text(size_t max) const {
    if (items.size() == 1) return items[0];
    std::string out = std::to_string(items.size()) + " backup processes (";
    size_t shown = std::min<size_t>(max, 3);
    for (size_t i = 0; i < items.size() && i < shown; ++i) out += (i ? "; " : "") + items[i];
    if (items.size() > shown) out += "; " + std::to_string(items.size() - shown) + " more";
    return out + ")";
  }
  std::string pid_list() const {
    std::string out;
    for (const auto& p : pids) out += (out.empty() ? "" : " ") + p;
    return out;
  }
};

struct Tracked {
  ProcessInfo info;
  std::string matched;
  std::optional<ProcIo> io_before;
  int io_errno = 0;
};

// Seconds since boot, from <proc>/uptime.
double read_uptime(const std::string& proc) {
  int err = 0;
  auto uptime_text = read_file(proc + "/uptime", &err);
  if (!uptime_text) throw sdk::CheckError("cannot read " + proc + "/uptime: " + errno_text(err));
  double uptime = 0;
  try {
    uptime = std::stod(*uptime_text);
  } catch (...) {
    throw sdk::CheckError(proc + "/uptime does not parse");
  }
  // Runtimes derived from it become milliseconds in a long long: a value no kernel writes
  // (negative, NaN, beyond ~30,000 years) would overflow that conversion.
  if (!(uptime >= 0 && uptime < 1e12))
    throw sdk::CheckError(proc + "/uptime holds " +
                          uptime_text->substr(0, uptime_text->find_first_of(" \n")) +
                          ", not a number of seconds since boot");
  return uptime;
}

// The running processes that match `names`, each with its I/O counters at the start.
std::vector<Tracked> find_backup_processes(const std::string& proc,
                                           const std::vector<std::string>& names) {
  const int self = ::getpid();
  std::vector<Tracked> found;
  for (int pid : list_pids(proc)) {
    if (proc == "/proc" && pid == self) continue;
    auto info = read_process(proc, pid);
    // Gone, or a kernel thread (no command line); a zombie has lost its command line too.
    if (!info || (info->argv.empty() && info->stat.state != 'Z')) continue;
    std::string matched;
    if (!process_matches(*info, names, &matched)) continue;
    Tracked t{*info, matched, std::nullopt, 0};
    int io_err = 0;
    if (auto text = read_file(proc + "/" + std::to_string(pid) + "/io", &io_err))
      t.io_before = parse_proc_io(*text);
    else
      t.io_errno = io_err;
    found.push_back(std::move(t));
  }
  return found;
}

// What the check saw of one backup process, at the end of the sample.
struct Observed {
  std::string name, pid_text, who, runtime_text;
  double runtime = 0;
  bool finished = false;  // gone, or its pid reused, by the end of the sample
  char state = 'X';
  std::optional<IoPriority> prio;
  std::optional<bool> progressed;  // unknown when its I/O counters could not be read
  json entry;
};

// The sample's verdict (made progress?) from the process's I/O counters, into the entry.
std::optional<bool> measure_progress(const Tracked& t, const std::string& proc, double sampled_ms,
                                     const json& labels, Observed& o, sdk::Context& ctx) {
  if (o.finished) {
    o.entry["finished_during_sample"] = true;
    return true;
  }
  if (!t.io_before) {
    o.entry["io_unreadable"] = t.io_errno ? errno_text(t.io_errno) : std::string("does not parse");
    return std::nullopt;
  }
  auto text = read_file(proc + "/" + o.pid_text + "/io");
  auto after = text ? parse_proc_io(*text) : std::nullopt;
  if (!after) return std::nullopt;
  // Progress: any change of the storage counters or of the read/write syscall counters.
  uint64_t moved_storage = (after->read_bytes - t.io_before->read_bytes) +
                           (after->write_bytes - t.io_before->write_bytes);
  uint64_t moved_calls = (after->rchar - t.io_before->rchar) + (after->wchar - t.io_before->wchar);
  o.entry["io_sample_seconds"] = sampled_ms / 1000.0;
  o.entry["io"] = {{"read_bytes", after->read_bytes - t.io_before->read_bytes},
                   {"write_bytes", after->write_bytes - t.io_before->write_bytes},
                   {"rchar", after->rchar - t.io_before->rchar},
                   {"wchar", after->wchar - t.io_before->wchar}};
  ctx.metric("backup_process_io", static_cast<double>(moved_calls), "bytes", labels);
  ctx.metric("backup_process_storage_io", static_cast<double>(moved_storage), "bytes", labels);
  return moved_storage > 0 || moved_calls > 0;
}

// How the process stands after the sample: its details entry and metrics, priority, progress.
Observed observe(const Tracked& t, const std::string& proc, double uptime, double ticks,
                 double sampled_ms, const Hooks& hooks, sdk::Context& ctx) {
  const auto& p = t.info;
  int pid = p.stat.pid;
  Observed o;
  o.pid_text = std::to_string(pid);
  // Names and command lines are the process's own words: shown only with secrets masked.
  o.name = display_name(p.stat.comm);
  o.who = o.name + " (pid " + o.pid_text + ")";
  o.runtime = std::max(0.0, uptime - static_cast<double>(p.stat.start_ticks) / ticks);
  o.runtime_text =
      format_duration(std::chrono::milliseconds(static_cast<long long>(o.runtime * 1000)));
  auto now = read_process(proc, pid);
  o.finished = !now || now->stat.start_ticks != p.stat.start_ticks;
  o.state = o.finished ? 'X' : now->stat.state;
  long nice = o.finished ? p.stat.nice : now->stat.nice;

  o.entry = {{"pid", pid},
             {"name", o.name},
             {"matched", display_name(t.matched)},
             {"cmdline", display_cmdline(p.argv)},
             {"user", owner_of(p.uid)},
             {"runtime_seconds", o.runtime},
             {"state", o.finished ? std::string("exited") : std::string(1, o.state)},
             {"nice", nice},
             {"cpu_seconds", static_cast<double>(p.stat.utime_ticks + p.stat.stime_ticks) / ticks}};
  if (p.argv_truncated) o.entry["cmdline_truncated"] = true;
  json labels = {{"pid", o.pid_text}, {"name", o.name}};
  ctx.metric("backup_process_runtime", o.runtime, "seconds", labels);
  ctx.metric("backup_process_nice", static_cast<double>(nice), "", labels);

  if (auto v = hooks.io_priority(proc, pid)) {
    o.prio = decode_io_priority(*v, nice);
    o.entry["io_class"] = o.prio->effective;
    o.entry["io_priority"] = o.prio->name;
    ctx.metric("backup_process_io_idle", o.prio->effective == "idle" ? 1 : 0, "", labels);
  } else {
    o.entry["io_class"] = nullptr;
  }

  o.progressed = measure_progress(t, proc, sampled_ms, labels, o, ctx);
  o.entry["made_progress"] = o.progressed ? json(*o.progressed) : json(nullptr);
  if (o.progressed) ctx.metric("backup_process_progress", *o.progressed ? 1 : 0, "", labels);
  return o;
}

// The kinds of trouble a backup process can be in, each gathering the processes in it.
struct Troubles {
  Category stopped, stuck, quiet, zombies, slow, not_idle;
};

void classify(const Observed& o, const ProcessInfo& p,
              const std::optional<std::chrono::milliseconds>& max_runtime, bool require_idle,
              Troubles& c) {
  bool too_long = max_runtime && o.runtime * 1000.0 > static_cast<double>(max_runtime->count());
  auto item = [&](const std::string& extra) {
    return o.name + " (pid " + o.pid_text + ", running " + o.runtime_text +
           (extra.empty() ? "" : ", " + extra) + ")";
  };
  bool is_pg = p.stat.comm.rfind("pg_", 0) == 0;
  char state = o.state;
  if (!o.finished && (state == 'T' || state == 't')) {
    c.stopped.add(item(""), o.pid_text, is_pg);
  } else if (!o.finished && state == 'Z') {
    c.zombies.add(item("parent " + std::to_string(p.stat.ppid)), std::to_string(p.stat.ppid),
                  is_pg);
  } else if (o.progressed && !*o.progressed) {
    if (state == 'D')
      c.stuck.add(item(state_words(state)), o.pid_text, is_pg);
    else if (too_long)
      c.stuck.add(item("past max_runtime " + format_duration(*max_runtime)), o.pid_text, is_pg);
    else
      c.quiet.add(item(state_words(state)), o.pid_text, is_pg);
  } else if (too_long) {
    c.slow.add(item(""), o.pid_text, is_pg);
  }
  if (require_idle && o.prio && o.prio->effective != "idle" && !o.finished)
    c.not_idle.add(o.who + " in class " + o.prio->name, o.pid_text, is_pg);
}

// How to see what a process without I/O waits for, and how to end it.
std::string inspect_advice(const Category& c) {
  const std::string& pid = c.pids.front();
  return "Look at what " + std::string(c.pids.size() == 1 ? "it waits" : "each waits") +
         " for: `cat /proc/" + pid + "/wchan; echo; cat /proc/" + pid +
         "/stack` (as root) or `strace -f -p " + pid + "`" +
         (c.postgres ? "; on the database, `SELECT pid, state, wait_event_type, wait_event, "
                       "query_start FROM pg_stat_activity WHERE application_name LIKE "
                       "'pg_dump%'` shows a lock wait"
                     : "") +
         ". If it is really stuck, end it (`kill " + c.pid_list() + "`) and run the backup again.";
}

void phrase_troubles(const Troubles& c, size_t max_items, double sampled_ms,
                     const std::optional<std::chrono::milliseconds>& max_runtime,
                     sdk::Findings& verdict) {
  std::string sample_text =
      format_duration(std::chrono::milliseconds(static_cast<long long>(sampled_ms)));
  if (!c.stopped.empty())
    verdict.fail(c.stopped.text(max_items) + (c.stopped.size() == 1 ? " is" : " are") + " stopped",
                 "Something suspended " + std::string(c.stopped.size() == 1 ? "it" : "them") +
                     " (SIGSTOP, Ctrl-Z or a debugger): resume with `kill -CONT " +
                     c.stopped.pid_list() + "`, or end and rerun the backup.");
  if (!c.stuck.empty())
    verdict.fail(c.stuck.text(max_items) + " did no I/O in " + sample_text,
                 inspect_advice(c.stuck));
  if (!c.quiet.empty())
    verdict.warn(c.quiet.text(max_items) + " did no I/O in " + sample_text +
                     ": hung, or waiting on a lock or the network",
                 inspect_advice(c.quiet));
  if (!c.zombies.empty())
    verdict.warn(c.zombies.text(max_items) + " exited but " +
                     (c.zombies.size() == 1 ? "was" : "were") + " never collected by the parent",
                 "The backup process is gone: check the backup log for its exit status. The "
                 "parent (pid " +
                     c.zombies.pid_list() + ") does not reap its children and may itself be hung.");
  if (!c.slow.empty())
    verdict.warn(
        c.slow.text(max_items) + " still running, longer than max_runtime " +
            format_duration(*max_runtime),
        "It still moves data, so it is slow rather than stuck: compare its throughput "
        "with earlier runs and look at resources.io and resources.cpu for the bottleneck.");
  if (!c.not_idle.empty())
    verdict.warn(c.not_idle.text(max_items) + ", not in the idle I/O class",
                 "Lower the disk priority so the application is served first: `ionice -c 3 -p " +
                     c.not_idle.pid_list() + "` (and `renice -n 10 -p " + c.not_idle.pid_list() +
                     "` for CPU); start future runs with `nice -n 10 ionice -c 3 <command>`.");
}

void run(const json& params, sdk::Context& ctx, const Hooks& hooks) {
  std::string proc = string_param(params, "proc_root", "/proc");
  auto names = string_list(params, "names", kDefaultNames);
  if (names.empty()) throw sdk::CheckError("names must list at least one process name");
  auto sample = duration_param(params, "sample", "5s");
  auto max_runtime = optional_duration(params, "max_runtime");
  bool require_idle = params.value("require_idle_io", false);
  size_t max_items = static_cast<size_t>(number_param(params, "max_items", 20));

  double uptime = read_uptime(proc);
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::vector<Tracked> found = find_backup_processes(proc, names);

  std::string names_text;
  for (const auto& n : names) names_text += (names_text.empty() ? "" : ", ") + n;
  ctx.metric("backup_processes", static_cast<double>(found.size()), "count");
  if (found.empty()) {
    ctx.ok("no backup process is running (looked for " + names_text + ")",
           {{"names", names}, {"count", 0}, {"processes", json::array()}});
    return;
  }

  bool any_io = std::any_of(found.begin(), found.end(),
                            [](const Tracked& t) { return t.io_before.has_value(); });
  double sampled_ms = 0;
  if (any_io) sampled_ms = static_cast<double>(hooks.wait(sample, ctx).count());
  uptime += sampled_ms / 1000.0;  // runtimes as of the end of the sample, not its start

  json list = json::array();
  std::string ok_text;
  Troubles troubles;
  for (const auto& t : found) {
    Observed o = observe(t, proc, uptime, ticks, sampled_ms, hooks, ctx);
    classify(o, t.info, max_runtime, require_idle, troubles);
    if (list.size() < max_items) list.push_back(o.entry);
    ok_text += (ok_text.empty() ? "" : "; ") + o.who + " running " + o.runtime_text +
               (o.progressed ? (*o.progressed ? ", moving data" : ", no I/O") : "");
  }
  if (found.size() > 3)
    ok_text = std::to_string(found.size()) +
              " backup processes running, all moving data or idle by design";

  sdk::Findings verdict;
  phrase_troubles(troubles, max_items, sampled_ms, max_runtime, verdict);
  json details = {{"names", names},
                  {"count", found.size()},
                  {"processes", list},
                  {"sample_seconds", sampled_ms / 1000.0}};
  if (found.size() > list.size()) details["processes_truncated"] = true;
  verdict.report(ctx, ok_text, details, sdk::Findings::Style::list);
}

}  // namespace

sdk::CheckType backup_process_check(const Hooks& hooks) {
  return {
      .type = "resources.backup_process",
      .summary = "Running backup processes: runtime, priority and whether they make progress",
      .doc =
          "Finds running processes whose name matches `names` (pg_dump, rsync, tar, backup "
          "scripts...) and reports how long each has run, its nice value and its I/O scheduling "
          "class (ioprio_get(2); `ionice -c 3` puts a backup in the idle class). It reads "
          "/proc/PID/io twice `sample` apart: a backup that moved no byte in that time (neither "
          "storage I/O nor read/write calls) may be hung; stopped processes and processes stuck "
          "in state D without progress fail.\n\nCommand lines and names are shown with secrets "
          "masked (--password=, PGPASSWORD=, conninfo password=, URL user:password@, "
          "mysqldump -pSECRET, sshpass -p, curl -u user:pass, Authorization headers, ..., also "
          "inside sh -c strings); only the first 64 KiB of a command line are read.",
      .params_schema = sdk::parse_schema(kSchema),
      .run = [&hooks](const json& params, sdk::Context& ctx) { run(params, ctx, hooks); }};
}

}  // namespace backup_doctor::resources
