// What `init` reads from files the backup account may own: shell scripts (parsed, then every
// word expanded as the tracer would), crontab schedules and systemd calendar events.
#include <cstddef>
#include <cstdint>
#include <string>

#include "init/schedule.hpp"
#include "init/shell_expand.hpp"
#include "init/shell_syntax.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backup_doctor::init;
  const std::string text(reinterpret_cast<const char*>(data), size);
  ShellScript script = parse_shell(text);
  ShellEnvironment env;
  env.vars["HOME"] = {"/root", true};
  for (const auto& c : script.commands) {
    for (const auto& a : c.assignments) {
      Expanded v = expand_word(a.value, env);
      env.vars[a.name] = {v.text, v.exact};
    }
    for (const auto& w : c.words) (void)expand_word(w, env);
    for (const auto& r : c.redirects) (void)expand_word(r.target, env);
  }
  // The first line as a schedule: both syntaxes must refuse what they cannot read, not throw.
  const std::string line = text.substr(0, std::min<size_t>(text.find('\n'), 80));
  (void)cron_schedule(line);
  (void)calendar_schedule(line);
  return 0;
}
