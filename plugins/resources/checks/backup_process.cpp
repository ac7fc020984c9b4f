// resources.backup_process: running backup processes, how long they have run, their CPU and
// I/O priority, and whether they moved any data during a short sample (a hung backup does not).
#include "checks.hpp"

#include <backup_doctor/findings.hpp>
#include <backup_doctor/params.hpp>
#include <backup_doctor/system.hpp>
#include "figures.hpp"
#include "processes.hpp"
#include "procfs.hpp"

#include <pwd.h>
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
    "sample": {"type": "string", "minLength": 1, "pattern": "@duration@", "default": "5s",
      "description": "How long to watch each backup process for I/O progress (/proc/PID/io read twice). Default 5s."},
    "max_runtime": {"type": "string", "minLength": 1, "pattern": "@duration@",
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

std::string user_name(int uid) {
  if (uid < 0) return "?";
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &found) == 0 && found)
    return found->pw_name;
  return std::to_string(uid);
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

void run(const json& params, sdk::Context& ctx, const Hooks& hooks) {
  std::string proc = string_param(params, "proc_root", "/proc");
  auto names = string_list(params, "names", kDefaultNames);
  if (names.empty()) throw sdk::CheckError("names must list at least one process name");
  auto sample = duration_param(params, "sample", "5s");
  auto max_runtime = optional_duration(params, "max_runtime");
  bool require_idle = params.value("require_idle_io", false);
  size_t max_items = static_cast<size_t>(number_param(params, "max_items", 20));

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
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
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

  sdk::Findings verdict;
  json list = json::array();
  std::string ok_text;
  Category stopped, stuck, quiet, zombies, slow, not_idle;
  for (const auto& t : found) {
    const auto& p = t.info;
    int pid = p.stat.pid;
    std::string pid_text = std::to_string(pid);
    // Names and command lines are the process's own words: shown only with secrets masked.
    const std::string name = display_name(p.stat.comm);
    std::string who = name + " (pid " + pid_text + ")";
    double runtime = std::max(0.0, uptime - static_cast<double>(p.stat.start_ticks) / ticks);
    auto now = read_process(proc, pid);
    bool finished = !now || now->stat.start_ticks != p.stat.start_ticks;  // gone or pid reused
    char state = finished ? 'X' : now->stat.state;
    long nice = finished ? p.stat.nice : now->stat.nice;

    json entry = {
        {"pid", pid},
        {"name", name},
        {"matched", display_name(t.matched)},
        {"cmdline", display_cmdline(p.argv)},
        {"user", user_name(p.uid)},
        {"runtime_seconds", runtime},
        {"state", finished ? std::string("exited") : std::string(1, state)},
        {"nice", nice},
        {"cpu_seconds", static_cast<double>(p.stat.utime_ticks + p.stat.stime_ticks) / ticks}};
    if (p.argv_truncated) entry["cmdline_truncated"] = true;
    json labels = {{"pid", pid_text}, {"name", name}};
    ctx.metric("backup_process_runtime", runtime, "seconds", labels);
    ctx.metric("backup_process_nice", static_cast<double>(nice), "", labels);

    std::optional<IoPriority> prio;
    if (auto v = hooks.io_priority(proc, pid)) {
      prio = decode_io_priority(*v, nice);
      entry["io_class"] = prio->effective;
      entry["io_priority"] = prio->name;
      ctx.metric("backup_process_io_idle", prio->effective == "idle" ? 1 : 0, "", labels);
    } else {
      entry["io_class"] = nullptr;
    }

    // Progress: any change of the storage counters or of the read/write syscall counters.
    std::optional<bool> progressed;
    if (finished) {
      progressed = true;
      entry["finished_during_sample"] = true;
    } else if (t.io_before) {
      auto text = read_file(proc + "/" + pid_text + "/io");
      auto after = text ? parse_proc_io(*text) : std::nullopt;
      if (after) {
        uint64_t moved_storage = (after->read_bytes - t.io_before->read_bytes) +
                                 (after->write_bytes - t.io_before->write_bytes);
        uint64_t moved_calls =
            (after->rchar - t.io_before->rchar) + (after->wchar - t.io_before->wchar);
        progressed = moved_storage > 0 || moved_calls > 0;
        entry["io_sample_seconds"] = sampled_ms / 1000.0;
        entry["io"] = {{"read_bytes", after->read_bytes - t.io_before->read_bytes},
                       {"write_bytes", after->write_bytes - t.io_before->write_bytes},
                       {"rchar", after->rchar - t.io_before->rchar},
                       {"wchar", after->wchar - t.io_before->wchar}};
        ctx.metric("backup_process_io", static_cast<double>(moved_calls), "bytes", labels);
        ctx.metric("backup_process_storage_io", static_cast<double>(moved_storage), "bytes",
                   labels);
      }
    } else {
      entry["io_unreadable"] = t.io_errno ? errno_text(t.io_errno) : std::string("does not parse");
    }
    entry["made_progress"] = progressed ? json(*progressed) : json(nullptr);
    if (progressed) ctx.metric("backup_process_progress", *progressed ? 1 : 0, "", labels);

    bool too_long = max_runtime && runtime * 1000.0 > static_cast<double>(max_runtime->count());
    std::string runtime_text =
        format_duration(std::chrono::milliseconds(static_cast<long long>(runtime * 1000)));
    auto item = [&](const std::string& extra) {
      return name + " (pid " + pid_text + ", running " + runtime_text +
             (extra.empty() ? "" : ", " + extra) + ")";
    };
    bool is_pg = p.stat.comm.rfind("pg_", 0) == 0;
    if (!finished && (state == 'T' || state == 't')) {
      stopped.add(item(""), pid_text, is_pg);
    } else if (!finished && state == 'Z') {
      zombies.add(item("parent " + std::to_string(p.stat.ppid)), std::to_string(p.stat.ppid),
                  is_pg);
    } else if (progressed && !*progressed) {
      if (state == 'D')
        stuck.add(item(state_words(state)), pid_text, is_pg);
      else if (too_long)
        stuck.add(item("past max_runtime " + format_duration(*max_runtime)), pid_text, is_pg);
      else
        quiet.add(item(state_words(state)), pid_text, is_pg);
    } else if (too_long) {
      slow.add(item(""), pid_text, is_pg);
    }
    if (require_idle && prio && prio->effective != "idle" && !finished)
      not_idle.add(who + " in class " + prio->name, pid_text, is_pg);

    if (list.size() < max_items) list.push_back(entry);
    ok_text += (ok_text.empty() ? "" : "; ") + who + " running " + runtime_text +
               (progressed ? (*progressed ? ", moving data" : ", no I/O") : "");
  }
  if (found.size() > 3)
    ok_text = std::to_string(found.size()) +
              " backup processes running, all moving data or idle by design";

  std::string sample_text =
      format_duration(std::chrono::milliseconds(static_cast<long long>(sampled_ms)));
  auto inspect = [&](const Category& c) {
    const std::string& pid = c.pids.front();
    return "Look at what " + std::string(c.pids.size() == 1 ? "it waits" : "each waits") +
           " for: `cat /proc/" + pid + "/wchan; echo; cat /proc/" + pid +
           "/stack` (as root) or `strace -f -p " + pid + "`" +
           (c.postgres ? "; on the database, `SELECT pid, state, wait_event_type, wait_event, "
                         "query_start FROM pg_stat_activity WHERE application_name LIKE "
                         "'pg_dump%'` shows a lock wait"
                       : "") +
           ". If it is really stuck, end it (`kill " + c.pid_list() +
           "`) and run the backup again.";
  };
  if (!stopped.empty())
    verdict.fail(stopped.text(max_items) + (stopped.size() == 1 ? " is" : " are") + " stopped",
                 "Something suspended " + std::string(stopped.size() == 1 ? "it" : "them") +
                     " (SIGSTOP, Ctrl-Z or a debugger): resume with `kill -CONT " +
                     stopped.pid_list() + "`, or end and rerun the backup.");
  if (!stuck.empty())
    verdict.fail(stuck.text(max_items) + " did no I/O in " + sample_text, inspect(stuck));
  if (!quiet.empty())
    verdict.warn(quiet.text(max_items) + " did no I/O in " + sample_text +
                     ": hung, or waiting on a lock or the network",
                 inspect(quiet));
  if (!zombies.empty())
    verdict.warn(zombies.text(max_items) + " exited but " + (zombies.size() == 1 ? "was" : "were") +
                     " never collected by the parent",
                 "The backup process is gone: check the backup log for its exit status. The "
                 "parent (pid " +
                     zombies.pid_list() + ") does not reap its children and may itself be hung.");
  if (!slow.empty())
    verdict.warn(
        slow.text(max_items) + " still running, longer than max_runtime " +
            format_duration(*max_runtime),
        "It still moves data, so it is slow rather than stuck: compare its throughput "
        "with earlier runs and look at resources.io and resources.cpu for the bottleneck.");
  if (!not_idle.empty())
    verdict.warn(not_idle.text(max_items) + ", not in the idle I/O class",
                 "Lower the disk priority so the application is served first: `ionice -c 3 -p " +
                     not_idle.pid_list() + "` (and `renice -n 10 -p " + not_idle.pid_list() +
                     "` for CPU); start future runs with `nice -n 10 ionice -c 3 <command>`.");

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
