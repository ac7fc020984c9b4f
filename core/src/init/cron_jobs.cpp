// Crontabs in the two formats cron reads: the system ones (/etc/crontab, /etc/cron.d) name the
// user in a sixth field, users' own ones do not. Environment lines apply to the entries below.
#include "init/host_files.hpp"
#include "init/scheduled_job.hpp"
#include "init/words.hpp"

#include <sstream>

namespace backup_doctor::init {
namespace {

constexpr size_t kMaxEnvironment = 64 << 10;

// NAME=value (value optionally quoted), as cron takes it.
bool environment_line(const std::string& line, std::map<std::string, std::string>& env) {
  const size_t eq = line.find('=');
  if (eq == std::string::npos) return false;
  const std::string name = trim(line.substr(0, eq));
  if (name.empty() || name.find_first_of(" \t*@") != std::string::npos) return false;
  std::string value = trim(line.substr(eq + 1));
  if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0])
    value = value.substr(1, value.size() - 2);
  env[name] = value;
  return true;
}

// Splits off `count` blank-separated fields; the rest of the line is the command.
bool take_fields(const std::string& line, size_t count, std::vector<std::string>& fields,
                 std::string& rest) {
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string::npos) return false;
    const size_t end = line.find_first_of(" \t", pos);
    if (end == std::string::npos) return false;
    fields.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  rest = trim(line.substr(pos));
  return !rest.empty();
}

// run-parts of a cron.* directory is read from the directory itself.
bool is_run_parts(const std::string& command) {
  return command.find("run-parts") != std::string::npos &&
         command.find("/etc/cron.") != std::string::npos;
}

void read_crontab(const HostFiles& host, const std::string& path, const std::string& owner,
                  JobSources& out) {
  std::string why;
  auto text = host.read(path, &why);
  if (!text) {
    if (why != "missing") out.notes.push_back({path, "not read: " + why});
    return;
  }
  std::map<std::string, std::string> env;
  size_t env_size = 0;
  for_each_content_line(*text, [&](int number, const std::string& t) {
    // Every entry below gets a copy of the environment: it is bounded, as the jobs are.
    if (std::map<std::string, std::string> ignored;
        env_size + t.size() > kMaxEnvironment && environment_line(t, ignored)) {
      out.notes.push_back({path + ":" + std::to_string(number),
                           "the environment lines above hold 64 KiB already; this one is ignored"});
      return true;
    }
    if (env_size + t.size() <= kMaxEnvironment && environment_line(t, env)) {
      env_size += t.size();
      return true;
    }
    const bool at = t[0] == '@';
    std::vector<std::string> fields;
    std::string command;
    const size_t schedule_fields = at ? 1 : 5;
    if (!take_fields(t, schedule_fields + (owner.empty() ? 1 : 0), fields, command)) {
      // Not shown: a mistyped line may be an assignment holding a password.
      out.notes.push_back({path + ":" + std::to_string(number),
                           "neither a crontab entry nor NAME=value; not read"});
      return true;
    }
    if (is_run_parts(command)) return true;
    if (out.jobs.size() >= kMaxJobs) {
      out.notes.push_back({path + ":" + std::to_string(number),
                           "more than " + std::to_string(kMaxJobs) +
                               " scheduled jobs; this one and the rest of the file are not read"});
      return false;
    }
    ScheduledJob job;
    job.source = path;
    job.line = number;
    std::string expression;
    for (size_t i = 0; i < schedule_fields; ++i) expression += (i ? " " : "") + fields[i];
    job.schedule = cron_schedule(expression);
    job.user = owner.empty() ? fields.back() : owner;
    // In a crontab an unescaped % ends the command (the rest is its standard input).
    if (size_t pct = command.find('%');
        pct != std::string::npos && (pct == 0 || command[pct - 1] != '\\')) {
      out.notes.push_back({path + ":" + std::to_string(number),
                           "the text after % is the command's standard input, not read"});
      command = command.substr(0, pct);
    }
    job.command = command;
    job.environment = env;
    out.jobs.push_back(std::move(job));
    return true;
  });
}

// run-parts runs files whose names are only letters, digits, _ and - (Debian's rule).
bool run_parts_name(const std::string& name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                              std::string::npos;
}

void read_run_parts(const HostFiles& host, JobSources& out) {
  using std::chrono::hours;
  const std::pair<const char*, std::chrono::minutes> kDirs[] = {{"hourly", hours(1)},
                                                                {"daily", hours(24)},
                                                                {"weekly", hours(24 * 7)},
                                                                {"monthly", hours(24 * 31)}};
  for (const auto& [period, gap] : kDirs) {
    const std::string dir = std::string("/etc/cron.") + period;
    for (const std::string& name : host.list(dir)) {
      const std::string path = dir + "/" + name;
      if (!run_parts_name(name)) {
        if (name != ".placeholder")
          out.notes.push_back({path,
                               "not run by run-parts: its name has characters other than letters, "
                               "digits, _ and -"});
        continue;
      }
      ScheduledJob job;
      job.source = path;
      job.line = 1;
      job.schedule = periodic_schedule(std::string("cron.") + period, gap);
      job.command = path;
      job.name_hint = name;
      if (!host.is_executable(path))
        out.notes.push_back({path, "not executable, so run-parts skips it: chmod 0755 " + path});
      out.jobs.push_back(std::move(job));
    }
  }
}

}  // namespace

void read_cron_jobs(const HostFiles& host, JobSources& out) {
  read_crontab(host, "/etc/crontab", "", out);
  for (const std::string& name : host.list("/etc/cron.d")) {
    if (!run_parts_name(name)) continue;  // cron ignores names with dots (package leftovers)
    read_crontab(host, "/etc/cron.d/" + name, "", out);
  }
  read_run_parts(host, out);
  for (const char* spool : {"/var/spool/cron/crontabs", "/var/spool/cron"}) {
    for (const std::string& user : host.list(spool)) {
      const std::string path = std::string(spool) + "/" + user;
      if (user == "crontabs" || !host.is_file(path)) continue;
      read_crontab(host, path, user, out);
    }
  }
}

}  // namespace backup_doctor::init
