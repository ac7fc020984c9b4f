#include "cli.hpp"

#include "checklist.hpp"
#include "command_setup.hpp"
#include "describe.hpp"
#include "init/init_command.hpp"
#include "logging.hpp"
#include "plan.hpp"
#include "plugin_path.hpp"
#include "plugin_registry.hpp"
#include "progress.hpp"
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"
#include "runner.hpp"
#include "scrubber.hpp"
#include "serve/serve_command.hpp"
#include "suggest.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

namespace backup_doctor {
namespace {

// Exit codes (docs/cli.md): Nagios-compatible for runs; usage and setup problems are "unknown".
constexpr int kExitUnknown = 3;
constexpr int kExitInvalid = 2;  // `validate` on an invalid checklist

// The subcommand the user typed, when it is not one we have: CLI11 would only say that "a
// subcommand is required". Asked only once parsing failed; skips the global options and their
// values (--plugin-dir takes several: the paths after it).
std::optional<std::string> unknown_subcommand(const CLI::App& app, int argc, char** argv) {
  auto is_subcommand = [&](const std::string& arg) {
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == arg) return true;
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--log-level") {
      ++i;
      continue;
    }
    if (arg == "--plugin-dir") {
      while (i + 1 < argc && argv[i + 1][0] != '-' && !is_subcommand(argv[i + 1]) &&
             std::string_view(argv[i + 1]).find('/') != std::string_view::npos)
        ++i;
      continue;
    }
    if (arg.rfind("-", 0) == 0) continue;
    if (is_subcommand(arg)) return std::nullopt;
    return arg;
  }
  return std::nullopt;
}

int report_unknown_subcommand(const CLI::App& app, const std::string& typed) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "backup-doctor: unknown command '%s'%s; the commands are %s (see --help)\n",
               typed.c_str(), did_you_mean(typed, names).c_str(), list.c_str());
  return kExitUnknown;
}

// A --plugin-dir that is not a directory would silently load nothing from it.
bool plugin_dirs_exist(const GlobalOptions& g) {
  bool ok = true;
  for (const auto& dir : g.plugin_dirs) {
    std::error_code ec;
    // A relative entry is ignored with its own warning (plugin_path.hpp).
    if (std::filesystem::path(dir).is_relative() || std::filesystem::is_directory(dir, ec))
      continue;
    std::fprintf(stderr,
                 "backup-doctor: --plugin-dir %s: %s; give a directory that holds plugin files "
                 "(backup-doctor-NAME.so)\n",
                 dir.c_str(),
                 std::filesystem::exists(dir, ec) ? "not a directory" : "no such directory");
    ok = false;
  }
  return ok;
}

bool use_color(const std::string& mode, int fd) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string(term) == "dumb") return false;
  return isatty(fd);
}

int command_run(const GlobalOptions& g, const RunOptions& o, Scrubber& scrubber) {
  auto format = format_from_string(o.format);
  std::vector<std::pair<Format, std::string>> extra;
  for (const auto& r : o.reports) {
    auto eq = r.find('=');
    auto f = eq == std::string::npos ? std::nullopt : format_from_string(r.substr(0, eq));
    if (!f || eq + 1 >= r.size()) {
      std::fprintf(stderr,
                   "backup-doctor: --report %s: expected FORMAT=PATH with FORMAT one of text, "
                   "json, junit, prometheus, nagios\n",
                   r.c_str());
      return kExitUnknown;
    }
    extra.emplace_back(*f, r.substr(eq + 1));
  }
  auto prepared = prepare(g, o, true, scrubber);
  if (!prepared) {
    std::fprintf(stderr, "backup-doctor: %s is not valid; nothing was run\n", o.checklist.c_str());
    return kExitUnknown;
  }
  auto& checklist = prepared->checklist;
  auto& plan = prepared->plan;

  RunnerOptions ro;
  ro.jobs = o.jobs ? o.jobs : default_jobs();
  ro.interrupt_fd = install_interrupt_pipe();
  ProgressLine progress(!o.no_progress && isatty(STDERR_FILENO));
  ro.on_progress = [&](const RunProgress& p) { progress.update(p); };
  RunReport report = run_plan(plan, ro, scrubber);
  progress.clear();
  report.checklist_name = checklist.name;
  report.checklist_file = checklist.file.string();

  RenderOptions render_options;
  render_options.verbose = o.verbose;
  render_options.group_by_set = o.group != "none";
  render_options.color = use_color(o.color, STDOUT_FILENO);
  render_options.fail_on = *status_from_string(o.fail_on);  // CLI11 allows only warn|fail|error
  for (const auto& r : prepared->registry->refused())
    render_options.refused_plugins.push_back({r.file.string(), r.reason});
  std::string main_output = scrubber.scrub(render(*format, report, render_options));
  std::fwrite(main_output.data(), 1, main_output.size(), stdout);
  std::fflush(stdout);
  int write_errors = 0;
  RenderOptions file_options = render_options;
  file_options.color = false;
  for (const auto& [f, path] : extra) {
    auto err = write_file_atomically(path, scrubber.scrub(render(f, report, file_options)));
    if (!err.empty()) {
      std::fprintf(stderr, "backup-doctor: --report %s: %s\n", path.c_str(), err.c_str());
      ++write_errors;
    }
  }

  Status overall = report.overall();
  int code = exit_code_for(status_under_threshold(overall, render_options.fail_on));
  if (write_errors) code = std::max(code, kExitUnknown);
  return code;
}

int command_validate(const GlobalOptions& g, const RunOptions& o, Scrubber& scrubber) {
  auto prepared = prepare(g, o, false, scrubber);
  if (!prepared) return kExitInvalid;
  std::printf("%s: valid (%zu checks selected%s)\n", o.checklist.c_str(),
              prepared->plan.checks.size(),
              o.profile.empty() ? "" : (", profile " + o.profile).c_str());
  return 0;
}

int command_plugins(const GlobalOptions& g, const std::string& format) {
  auto registry = load_registry(g);
  std::string out = format == "json" ? plugins_json(registry) : plugins_text(registry);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// Every check type of `plugin` in `format` (text or json; markdown is the whole reference).
std::string describe_plugin(const LoadedPlugin& plugin, const std::string& format) {
  std::string out;
  for (const auto& c : plugin.checks)
    out += (format == "json" ? describe_json(plugin, c) : describe_text(plugin, c) + "\n");
  return out;
}

const LoadedPlugin* plugin_named(const PluginRegistry& registry, const std::string& name) {
  for (const auto& p : registry.plugins())
    if (p.name == name) return &p;
  return nullptr;
}

int command_describe(const GlobalOptions& g, const std::string& type, bool all,
                     const std::string& format) {
  auto registry = load_registry(g);
  std::string out;
  if (all && format == "markdown") {
    out = describe_all_markdown(registry);
  } else if (all) {
    for (const auto& p : registry.plugins()) out += describe_plugin(p, format);
  } else if (type.empty()) {
    std::fprintf(stderr,
                 "backup-doctor describe: name a check type (e.g. files.freshness), a plugin "
                 "(e.g. files) or use --all\n");
    return kExitUnknown;
  } else if (const LoadedPlugin* plugin = registry.plugin_for(type)) {
    const CheckTypeInfo& check = *plugin->find(type);
    out = format == "json"       ? describe_json(*plugin, check)
          : format == "markdown" ? describe_all_markdown(registry)
                                 : describe_text(*plugin, check);
  } else if (const LoadedPlugin* named = plugin_named(registry, type)) {
    out = format == "markdown" ? describe_all_markdown(registry) : describe_plugin(*named, format);
  } else {
    std::vector<std::string> names = registry.check_types();
    for (const auto& p : registry.plugins()) names.push_back(p.name);
    std::fprintf(stderr,
                 "backup-doctor describe: no check type or plugin named '%s'%s; 'backup-doctor "
                 "plugins' lists them\n",
                 type.c_str(), did_you_mean(type, names).c_str());
    return kExitUnknown;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// The checklist of `run` and `validate` when none is named: $BACKUP_DOCTOR_CHECKLIST, else the
// configured default (BACKUP_DOCTOR_DEFAULT_CHECKLIST in CMake). It is read like a named one
// (as root: only if nobody else can change it). Empty, after one line saying what to do, when
// there is none.
std::optional<std::string> default_checklist() {
  const char* env = std::getenv("BACKUP_DOCTOR_CHECKLIST");
  std::string path = env != nullptr && *env != '\0' ? env : BD_DEFAULT_CHECKLIST;
  // Absolute only: never "wherever the command happens to start", nor "-" (stdin).
  if (!std::filesystem::path(path).is_absolute()) {
    std::fprintf(stderr,
                 "backup-doctor: BACKUP_DOCTOR_CHECKLIST=%s is not an absolute path; set it to "
                 "one, or name the checklist file on the command line\n",
                 path.c_str());
    return std::nullopt;
  }
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  std::fprintf(stderr,
               "backup-doctor: no checklist named and %s does not exist; write one with "
               "'backup-doctor init -o %s', or name a checklist file\n",
               path.c_str(), path.c_str());
  return std::nullopt;
}

void add_selection_options(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("checklist", o.checklist,
                  "Checklist file (JSON), or - to read it from stdin (default: "
                  "$BACKUP_DOCTOR_CHECKLIST, else " BD_DEFAULT_CHECKLIST ")")
      ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
  cmd->add_option("--profile", o.profile,
                  "Profile from the checklist's \"profiles\", or profiles/NAME.json next to it");
  cmd->add_option("--var", o.vars,
                  "Set a variable: NAME=VALUE (repeatable; overrides the profile)");
  cmd->add_option("--var-file", o.var_files,
                  "Set variables from a JSON object of NAME: VALUE (repeatable; after the "
                  "profile, before --var)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tag", o.tags,
                  "Run only checks with this tag (repeatable), plus what they need");
  cmd->add_option("--skip-tag", o.skip_tags,
                  "Leave out checks with this tag (repeatable), unless --only names them");
  cmd->add_option("--only", o.only, "Run only this check id (repeatable), plus what it needs");
}

CLI::App* add_serve_command(CLI::App& app, RunOptions& ro, serve::ServeOptions& so) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Run a checklist on a schedule and serve the results (/metrics, /healthz, /report.json)");
  add_selection_options(cmd, ro);
  cmd->add_option("--listen", so.listen, "ADDRESS:PORT to listen on (default 127.0.0.1:9847)");
  cmd->add_option("--interval", so.interval, "Time between runs (default 15m)");
  cmd->add_option("--web-config", so.web_config,
                  "TLS and basic auth, in the web config format of Prometheus' exporters "
                  "(tls_server_config, basic_auth_users)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-j,--jobs", ro.jobs, "Checks run at once (default: cores, at least 4)")
      ->check(CLI::Range(1u, 256u));
  return cmd;
}

CLI::App* add_init_command(CLI::App& app, init::InitOptions& io) {
  auto* cmd = app.add_subcommand(
      "init",
      "Write a starter checklist from this host's cron jobs, systemd timers and backup scripts");
  cmd->add_option("--root", io.root,
                  "Read the host under this directory (a chroot, a mounted image, a test "
                  "sandbox); the checks point into it too")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", io.output, "Write the checklist to this file (default: stdout)");
  cmd->add_flag("--force", io.force, "Replace the output file if it exists");
  return cmd;
}

}  // namespace

int run_cli(int argc, char** argv) {
  GlobalOptions g;
  RunOptions ro;
  std::string plugins_format = "text", describe_format = "text", describe_type;
  bool describe_all = false;

  CLI::App app{
      "backup-doctor: diagnoses backup systems before they fail on the day of a restore.\n"
      "Exit codes of 'run': 0 ok, 1 warnings, 2 failures, 3 errors or unknown."};
  app.set_version_flag("--version", std::string("backup-doctor ") + BD_VERSION);
  app.require_subcommand(1);
  app.add_option("--plugin-dir", g.plugin_dirs,
                 "Look for plugins here first (repeatable); then $BACKUP_DOCTOR_PLUGIN_PATH, then "
                 "the installed plugin directory");
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn (default), error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  auto* run = app.add_subcommand("run", "Run a checklist and report what is wrong");
  add_selection_options(run, ro);
  run->add_option("-j,--jobs", ro.jobs, "Checks run at once (default: cores, at least 4)")
      ->check(CLI::Range(1u, 256u));
  run->add_option("-f,--format", ro.format,
                  "Output on stdout: text, json, junit, prometheus, nagios")
      ->check(CLI::IsMember(format_names()));
  run->add_option("--report", ro.reports,
                  "Also write FORMAT=PATH (repeatable), e.g. --report junit=junit.xml "
                  "--report prometheus=/var/lib/node_exporter/backup.prom");
  run->add_option("--fail-on", ro.fail_on,
                  "Lowest status that makes the exit code non-zero: warn (default), fail or error")
      ->check(CLI::IsMember({"warn", "fail", "error"}));
  run->add_option("--color", ro.color, "auto (default; honours NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  run->add_flag("--no-progress", ro.no_progress, "No progress line on stderr");
  run->add_flag("-v,--verbose", ro.verbose, "Text output: show the details of non-ok results");
  run->add_option("--group", ro.group,
                  "Text output: set (default) groups results by backup set, each consequence "
                  "under its cause; none lists them by status only")
      ->check(CLI::IsMember({"set", "none"}));

  auto* validate = app.add_subcommand(
      "validate", "Check a checklist without running anything (exit 0 valid, 2 invalid)");
  add_selection_options(validate, ro);

  auto* plugins =
      app.add_subcommand("plugins", "List loaded plugins, their check types, and refused files");
  plugins->add_option("-f,--format", plugins_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  auto* describe =
      app.add_subcommand("describe", "Show a check type's documentation and parameters");
  describe->add_option("type", describe_type,
                       "Check type (e.g. files.freshness) or plugin (e.g. files: all its types)");
  describe->add_flag("--all", describe_all, "Every check type of every plugin");
  describe->add_option("-f,--format", describe_format, "text, json or markdown")
      ->check(CLI::IsMember({"text", "json", "markdown"}));

  serve::ServeOptions so;
  CLI::App* serve_cmd = add_serve_command(app, ro, so);
  init::InitOptions io;
  CLI::App* init_cmd = add_init_command(app, io);

  app.add_subcommand("version", "Print the version and plugin ABI");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty())
      if (auto typed = unknown_subcommand(app, argc, argv))
        return report_unknown_subcommand(app, *typed);
    app.exit(e);
    return kExitUnknown;
  }
  // The secrets this invocation resolves: the log sink, the reports and every error line mask
  // them. One instance, handed to each part that writes (no process-wide state).
  auto scrubber = std::make_shared<Scrubber>();
  setup_logging(g.log_level, false, scrubber);
  if (!plugin_dirs_exist(g)) return kExitUnknown;

  try {
    if ((*run || *validate || *serve_cmd) && ro.checklist.empty()) {
      auto path = default_checklist();
      if (!path) return kExitUnknown;
      ro.checklist = *path;
    }
    if (*run) return command_run(g, ro, *scrubber);
    if (*validate) return command_validate(g, ro, *scrubber);
    if (*plugins) return command_plugins(g, plugins_format);
    if (*describe) return command_describe(g, describe_type, describe_all, describe_format);
    if (*init_cmd) return init::command_init(io);
    if (*serve_cmd) return serve::command_serve(g, ro, so, *scrubber);
    std::printf("backup-doctor %s (plugin ABI %d.%d)\n", BD_VERSION, BD_ABI_MAJOR, BD_ABI_MINOR);
    return 0;
  } catch (const std::exception& e) {
    // Last line of defence: one clear line, never a stack trace.
    std::fprintf(stderr, "backup-doctor: internal error: %s\n", scrubber->scrub(e.what()).c_str());
    return kExitUnknown;
  }
}

}  // namespace backup_doctor
