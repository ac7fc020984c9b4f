// systemd timers and the services they start. Unit files are read as systemd reads them
// (sections, repeated keys, an empty assignment resets a list, backslash continuations); the
// first directory holding a unit name wins, /etc over the package directories.
#include "init/host_files.hpp"
#include "init/scheduled_job.hpp"
#include "init/shell_expand.hpp"
#include "init/words.hpp"

#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

namespace backup_doctor::init {
namespace {

constexpr const char* kUnitDirs[] = {"/etc/systemd/system", "/usr/lib/systemd/system",
                                     "/lib/systemd/system"};

struct UnitFile {
  std::string path;
  // "Section.Key" -> values, with the line of each
  std::map<std::string, std::vector<std::pair<std::string, int>>> values;

  const std::vector<std::pair<std::string, int>>* all(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() || it->second.empty() ? nullptr : &it->second;
  }
  std::string first(const std::string& key) const {
    const auto* v = all(key);
    return v ? v->front().first : "";
  }
};

UnitFile parse_unit(const std::string& path, const std::string& text) {
  UnitFile u{path, {}};
  std::istringstream in(text);
  std::string section, line, pending;
  int number = 0, start = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (pending.empty()) start = number;
    if (!t.empty() && t.back() == '\\') {
      pending += t.substr(0, t.size() - 1) + " ";
      continue;
    }
    t = pending + t;
    pending.clear();
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    auto& list = u.values[section + "." + trim(t.substr(0, eq))];
    const std::string value = trim(t.substr(eq + 1));
    if (value.empty())
      list.clear();
    else
      list.emplace_back(value, start);
  }
  return u;
}

std::optional<UnitFile> load_unit(const HostFiles& host, const std::string& name) {
  for (const char* dir : kUnitDirs) {
    const std::string path = std::string(dir) + "/" + name;
    if (auto text = host.read(path)) return parse_unit(path, *text);
  }
  return std::nullopt;
}

// "1h 30min", "15m", "1d", "90" (seconds) -> minutes; nothing when not a time span.
std::optional<std::chrono::minutes> time_span(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {
      {"usec", 1e-6 / 60},   {"us", 1e-6 / 60},    {"msec", 1e-3 / 60}, {"ms", 1e-3 / 60},
      {"seconds", 1 / 60.0}, {"second", 1 / 60.0}, {"sec", 1 / 60.0},   {"s", 1 / 60.0},
      {"minutes", 1},        {"minute", 1},        {"min", 1},          {"m", 1},
      {"hours", 60},         {"hour", 60},         {"hr", 60},          {"h", 60},
      {"days", 1440},        {"day", 1440},        {"d", 1440},         {"weeks", 10080},
      {"week", 10080},       {"w", 10080},         {"months", 43830},   {"month", 43830},
      {"M", 43830},          {"years", 525960},    {"year", 525960},    {"y", 525960}};
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    if (j == i) return std::nullopt;
    const std::string number = text.substr(i, j - i);  // "1.5", but also "." or "1.2.3"
    char* end = nullptr;
    const double n = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !(n < 1e9)) return std::nullopt;
    while (j < text.size() && text[j] == ' ') ++j;
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    double factor = unit.empty() ? 1 / 60.0 : -1;
    for (const auto& [name, f] : kUnits) {
      if (unit == name) factor = f;
    }
    if (factor < 0) return std::nullopt;
    total += n * factor;
    any = true;
    i = k;
  }
  if (!any || total < 1) return std::nullopt;
  return std::chrono::minutes(static_cast<long>(total + 0.5));
}

// Environment= values: NAME=value words with the shell's quoting.
void add_environment(const std::string& value, std::map<std::string, std::string>& env) {
  // systemd allows the quotes around the whole assignment ("A=b c"), so split each word at '='.
  ShellScript s = parse_shell("env " + value);
  for (const auto& c : s.commands) {
    for (size_t i = 1; i < c.words.size(); ++i) {
      const std::string w = c.words[i].literal();
      const size_t eq = w.find('=');
      if (eq != std::string::npos && eq > 0) env[w.substr(0, eq)] = w.substr(eq + 1);
    }
  }
}

void add_environment_file(const HostFiles& host, std::string path, const std::string& where,
                          std::map<std::string, std::string>& env, JobSources& out) {
  const bool optional = !path.empty() && path[0] == '-';
  if (optional) path = path.substr(1);
  std::string why;
  auto text = host.read(path, &why);
  if (!text) {
    if (!optional || why != "missing")
      out.notes.push_back({where, "EnvironmentFile " + path + " not read: " + why});
    return;
  }
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    add_environment(trim(line), env);
  }
}

bool enabled(const HostFiles& host, const std::string& timer) {
  for (const std::string& d : host.list("/etc/systemd/system")) {
    if (!d.ends_with(".wants")) continue;
    for (const std::string& entry : host.list("/etc/systemd/system/" + d)) {
      if (entry == timer) return true;  // a link, listed, not followed
    }
  }
  return false;
}

Schedule timer_schedule(const UnitFile& timer) {
  if (const auto* cal = timer.all("Timer.OnCalendar")) return calendar_schedule(cal->front().first);
  for (const char* key : {"Timer.OnUnitActiveSec", "Timer.OnUnitInactiveSec"}) {
    const std::string v = timer.first(key);
    if (auto span = time_span(v))
      return periodic_schedule(std::string(key).substr(6) + "=" + v, *span);
  }
  return {"", std::nullopt, "the timer has no OnCalendar= or OnUnitActiveSec= init can read"};
}

// ExecStart= prefixes (@-:+!) change how systemd runs the command, not what it runs.
std::string exec_command(std::string value) {
  while (!value.empty() && std::string_view("@-:+!").find(value[0]) != std::string_view::npos)
    value.erase(0, 1);
  return value;
}

void read_timer(const HostFiles& host, const std::string& dir, const std::string& name,
                JobSources& out) {
  auto text = host.read(dir + "/" + name);
  if (!text) return;
  UnitFile timer = parse_unit(dir + "/" + name, *text);
  std::string service_name = timer.first("Timer.Unit");
  if (service_name.empty()) service_name = name.substr(0, name.size() - 6) + ".service";
  auto service = load_unit(host, service_name);
  if (!service) {
    out.notes.push_back({timer.path, "starts " + service_name + ", which is not found"});
    return;
  }
  if (!enabled(host, name))
    out.notes.push_back(
        {timer.path, "is not enabled, so its job never runs: systemctl enable --now " + name});
  const auto* execs = service->all("Service.ExecStart");
  if (!execs) {
    out.notes.push_back({service->path, "has no ExecStart="});
    return;
  }
  std::map<std::string, std::string> env;
  if (const auto* envs = service->all("Service.Environment"))
    for (const auto& [v, line] : *envs) add_environment(v, env);
  if (const auto* files = service->all("Service.EnvironmentFile"))
    for (const auto& [v, line] : *files)
      add_environment_file(host, v, service->path + ":" + std::to_string(line), env, out);
  for (const auto& [value, line] : *execs) {
    ScheduledJob job;
    job.source = timer.path;
    job.line = line;
    job.via = service->path;
    job.schedule = timer_schedule(timer);
    job.user = service->first("Service.User").empty() ? "root" : service->first("Service.User");
    job.command = exec_command(value);
    job.environment = env;
    job.working_directory = service->first("Service.WorkingDirectory");
    job.name_hint = service_name.substr(0, service_name.rfind('.'));
    out.jobs.push_back(std::move(job));
  }
}

}  // namespace

void read_systemd_jobs(const HostFiles& host, JobSources& out) {
  std::set<std::string> seen;
  for (const char* dir : kUnitDirs) {
    for (const std::string& name : host.list(dir)) {
      if (!name.ends_with(".timer") || !seen.insert(name).second) continue;
      // Timers that come with the distribution are not backup jobs.
      static const std::set<std::string> kSystem = {
          "apt-daily.timer",      "apt-daily-upgrade.timer",
          "dpkg-db-backup.timer", "e2scrub_all.timer",
          "fstrim.timer",         "logrotate.timer",
          "man-db.timer",         "systemd-tmpfiles-clean.timer"};
      if (kSystem.count(name)) continue;
      read_timer(host, dir, name, out);
    }
  }
}

}  // namespace backup_doctor::init
