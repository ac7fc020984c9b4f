// The C++ plugin SDK: a header-only wrapper over the C ABI in plugin_abi.h.
//
// A plugin is a class derived from backup_doctor::sdk::Plugin that registers its check types in
// its constructor, plus one line: BACKUP_DOCTOR_PLUGIN(MyPlugin). Everything that crosses the
// boundary is converted here: parameters arrive as nlohmann::json, results leave through
// Context, and every exception is caught before it can reach the host.
//
//   sdk::CheckType hello_world() {       // one file per check type: checks/world.cpp
//     return {.type = "hello.world",
//             .summary = "Always ok",
//             .doc = "Longer documentation...",
//             .params_schema = sdk::parse_schema(
//                 R"({"type":"object","properties":{"who":{"type":"string"}},
//                     "additionalProperties":false})"),
//             .run = [](const nlohmann::json& params, sdk::Context& ctx) {
//               ctx.ok("hello " + sdk::string_param(params, "who", "world"));
//             }};
//   }
//   class Hello : public backup_doctor::sdk::Plugin {
//    public:
//     Hello() : Plugin("hello", "1.0.0", "Says hello") { add(hello_world()); }
//   };
//   BACKUP_DOCTOR_PLUGIN(Hello)
//
// docs/plugin-sdk.md walks through writing a plugin with the rest of the SDK: params.hpp
// (reading parameters), schema.hpp (parameter schema building blocks), findings.hpp (several
// problems, one result), text.hpp and system.hpp (messages), testing.hpp (unit tests).
#pragma once

#include <backup_doctor/abi.hpp>
#include <backup_doctor/duration.hpp>
#include <backup_doctor/scrub.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace backup_doctor::sdk {

// Thrown by a check to end with an `error` result naming what went wrong (for example a
// parameter that parses but makes no sense). With a remediation, the result carries it; without
// one, the core adds its own ("check the parameters against describe"). Any other exception is
// reported like a CheckError without remediation (see Plugin::on_exception).
struct CheckError : std::runtime_error {
  explicit CheckError(const std::string& what, std::string remediation = {})
      : std::runtime_error(what), remediation_(std::move(remediation)) {}
  const std::string& remediation() const { return remediation_; }

 private:
  std::string remediation_;
};

// What a running check talks to: wraps the host callbacks of one run_check call.
//
// Everything a check sends passes through the secrets it was told about (add_secret): a
// password a plugin read from a file, a token from a credentials chain, a password in a
// connection string. The core masks the secrets it resolved itself (`{"secret": ...}`
// parameters) again on its side; this covers the ones only the plugin knows.
//
// Threads: call from the thread that entered the check (report, metric, log, progress), except
// cancelled(), which any thread may call [thread-safe].
class Context {
 public:
  Context(const bd_host_api* host, bd_call* call) : host_(host), call_(call) {}

  // Sets the result. `remediation` is required in spirit for every non-ok status: say what the
  // operator should do about exactly what was found.
  void report(Status status, std::string_view summary, std::string_view remediation = {},
              const nlohmann::json& details = nlohmann::json::object()) {
    nlohmann::json all = details;
    if (all.is_object())
      for (const auto& [key, value] : notes_.items())
        if (!all.contains(key)) all[key] = value;
    // Details often quote what a check read (a log line, a file name): bytes that are not
    // UTF-8 become U+FFFD rather than an exception that would lose the finding.
    std::string details_text = all.is_null() ? std::string() : dump_text(scrub_json(all));
    std::string summary_text = scrub(summary), remediation_text = scrub(remediation);
    host_->report(call_, static_cast<bd_status>(status), to_bd(summary_text),
                  to_bd(remediation_text), to_bd(details_text));
    reported_ = true;
  }
  void ok(std::string_view summary, const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::ok, summary, {}, details);
  }
  void warn(std::string_view summary, std::string_view remediation,
            const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::warn, summary, remediation, details);
  }
  void fail(std::string_view summary, std::string_view remediation,
            const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::fail, summary, remediation, details);
  }
  // The check could not find out (a server it cannot reach, a file it may not read).
  void error(std::string_view summary, std::string_view remediation,
             const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::error, summary, remediation, details);
  }
  void skip(std::string_view reason, const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::skipped, reason, {}, details);
  }

  // A metric attached to the result (exported to Prometheus as backup_doctor_<name>_<unit>).
  void metric(std::string_view name, double value, std::string_view unit = {},
              const nlohmann::json& labels = nlohmann::json::object()) {
    std::string labels_text = labels.empty() ? std::string() : dump_text(scrub_json(labels));
    host_->metric(call_, to_bd(name), value, to_bd(unit), to_bd(labels_text));
  }

  void log(int level, std::string_view message) {
    std::string text = scrub(message);
    host_->log(call_, level, to_bd(text));
  }
  void debug(std::string_view message) { log(BD_LOG_DEBUG, message); }
  void info(std::string_view message) { log(BD_LOG_INFO, message); }
  void progress(double fraction, std::string_view message = {}) {
    std::string text = scrub(message);
    host_->progress(call_, fraction, to_bd(text));
  }
  // [thread-safe]
  bool cancelled() const { return host_->cancelled(call_) != 0; }

  // From now on `secret` is masked as "***" in everything this context sends. Empty strings
  // are ignored.
  void add_secret(std::string secret) {
    if (!secret.empty()) secrets_.push_back(std::move(secret));
  }
  const std::vector<std::string>& secrets() const { return secrets_; }
  // `text` with every secret masked: for text a check builds before reporting it.
  std::string scrub(std::string_view text) const { return sdk::scrub(text, secrets_); }
  nlohmann::json scrub_json(const nlohmann::json& value) const {
    return sdk::scrub_json(value, secrets_);
  }

  // Added to the details of whatever this check reports, unless the details set `key`
  // themselves: facts learnt on the way (the server version) that every outcome should show.
  void note(const std::string& key, nlohmann::json value) { notes_[key] = std::move(value); }

  bool reported() const { return reported_; }
  const bd_host_api* host() const { return host_; }
  bd_call* call() const { return call_; }

 private:
  static std::string dump_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  const bd_host_api* host_;
  bd_call* call_;
  bool reported_ = false;
  std::vector<std::string> secrets_;
  nlohmann::json notes_ = nlohmann::json::object();
};

// Lets a helper that only takes a C callback (support::run_process) poll cancellation.
inline bool context_cancelled(void* ctx) {
  return static_cast<Context*>(ctx)->cancelled();
}

using CheckFunction = std::function<void(const nlohmann::json& params, Context& ctx)>;

// A check type, as a value: what describe() lists and the function that runs it. Write one per
// file with designated initializers (see the top of this file) and add() it in the plugin's
// constructor.
struct CheckType {
  std::string type;              // full name, "files.exists"
  std::string summary;           // one line
  std::string doc;               // markdown paragraphs
  nlohmann::json params_schema;  // JSON Schema (draft 7) of the check's "with" object
  CheckFunction run;
};

// Base class of a plugin. Register check types in the constructor (cheap: it also runs to
// answer describe()); do expensive start-up in init(), which runs in create().
class Plugin {
 public:
  Plugin(std::string name, std::string version, std::string summary)
      : name_(std::move(name)), version_(std::move(version)), summary_(std::move(summary)) {}
  virtual ~Plugin() = default;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Called once from create(); throw to refuse loading (the message reaches the operator).
  virtual void init() {}

  // Called before each check runs, with its parameters: the place to tell the context about
  // secrets every check of this plugin receives (Context::add_secret).
  virtual void before_check(const nlohmann::json& params, Context& ctx) const {
    (void)params, (void)ctx;
  }

  // Turns an exception that escaped a check into its outcome; true when the check then has a
  // result, false when the host was told the check could not run (host->error). The default: a
  // CheckError with a remediation becomes an `error` result with it; anything else, even after
  // a result was reported, goes to the core with its message (masked), which phrases an `error`
  // result naming the plugin.
  virtual bool on_exception(const std::exception& e, Context& ctx) const {
    const auto* check_error = dynamic_cast<const CheckError*>(&e);
    if (check_error != nullptr && !check_error->remediation().empty()) {
      ctx.error(e.what(), check_error->remediation());
      return true;
    }
    std::string message = ctx.scrub(e.what());
    ctx.host()->error(ctx.call(), to_bd(message));
    return false;
  }

  const std::string& name() const { return name_; }
  const std::vector<CheckType>& checks() const { return checks_; }

  std::string describe_json() const {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : checks_)
      checks.push_back(
          {{"type", c.type}, {"summary", c.summary}, {"doc", c.doc}, {"params", c.params_schema}});
    return nlohmann::json{
        {"name", name_}, {"version", version_}, {"summary", summary_}, {"checks", checks}}
        .dump();
  }

  const CheckType* find(std::string_view type) const {
    for (const auto& c : checks_)
      if (c.type == type) return &c;
    return nullptr;
  }

 protected:
  void add(CheckType check) { checks_.push_back(std::move(check)); }

  // The same as add(), from parts; `params_schema` is JSON Schema text.
  template <typename F>
  void add_check(std::string type, std::string summary, std::string doc,
                 std::string_view params_schema, F&& run) {
    static_assert(std::is_invocable_v<F&, const nlohmann::json&, Context&>,
                  "a check function must be callable as "
                  "void(const nlohmann::json& params, backup_doctor::sdk::Context& ctx)");
    checks_.push_back(CheckType{std::move(type), std::move(summary), std::move(doc),
                                nlohmann::json::parse(params_schema),
                                CheckFunction(std::forward<F>(run))});
  }

 private:
  std::string name_, version_, summary_;
  std::vector<CheckType> checks_;
};

namespace detail {

inline void report_exception(const bd_host_api* host, bd_call* call, const char* what) {
  std::string message = what;
  host->error(call, to_bd(message));
}

// The C thunks behind BACKUP_DOCTOR_PLUGIN. Every one is noexcept: an exception never crosses
// the boundary, it becomes BD_RC_ERROR with its message.
template <typename P>
struct Thunks {
  static bd_str describe() noexcept {
    // Built on first call (not in a static constructor) and kept until unload.
    static const std::string text = []() -> std::string {
      try {
        P plugin;
        return plugin.describe_json();
      } catch (const std::exception& e) {
        return nlohmann::json{{"name", "?"}, {"error", e.what()}}.dump();
      }
    }();
    return to_bd(text);
  }

  static bd_rc create(const bd_host_api* host, bd_call* call, void** instance) noexcept {
    try {
      auto plugin = std::make_unique<P>();
      plugin->init();
      *instance = plugin.release();
      return BD_RC_OK;
    } catch (const std::exception& e) {
      report_exception(host, call, e.what());
    } catch (...) {
      report_exception(host, call, "unknown exception in create()");
    }
    return BD_RC_ERROR;
  }

  static void destroy(void* instance) noexcept { delete static_cast<P*>(instance); }

  static bd_rc run_check(void* instance, bd_str check_type, bd_str params_json,
                         const bd_host_api* host, bd_call* call) noexcept {
    try {
      auto* plugin = static_cast<P*>(instance);
      const CheckType* check = plugin->find(from_bd(check_type));
      if (check == nullptr) return BD_RC_UNKNOWN_CHECK;
      nlohmann::json params = params_json.size == 0 ? nlohmann::json::object()
                                                    : nlohmann::json::parse(from_bd(params_json));
      Context ctx(host, call);
      if (!run_guarded(*plugin, *check, params, ctx)) return BD_RC_ERROR;
      if (!ctx.reported()) {
        report_exception(host, call, "the check returned without reporting a result");
        return BD_RC_ERROR;
      }
      return BD_RC_OK;
    } catch (const std::exception& e) {
      report_exception(host, call, e.what());
    } catch (...) {
      report_exception(host, call, "unknown exception");
    }
    return BD_RC_ERROR;
  }

  // Runs the check; an exception becomes an outcome through the plugin's on_exception (with
  // the context's secrets masked). False when the host was given an error instead of a result.
  static bool run_guarded(const P& plugin, const CheckType& check, const nlohmann::json& params,
                          Context& ctx) {
    try {
      plugin.before_check(params, ctx);
      check.run(params, ctx);
      return true;
    } catch (const std::exception& e) {
      return plugin.on_exception(e, ctx);
    } catch (...) {
      report_exception(ctx.host(), ctx.call(), "unknown exception");
    }
    return false;
  }

  static const bd_plugin_api* table() noexcept {
    static const bd_plugin_api api = {
        .struct_size = sizeof(bd_plugin_api),
        .abi_major = BD_ABI_MAJOR,
        .abi_minor = BD_ABI_MINOR,
        .describe = &describe,
        .create = &create,
        .destroy = &destroy,
        .run_check = &run_check,
    };
    return &api;
  }
};

}  // namespace detail
}  // namespace backup_doctor::sdk

// Generates the plugin's one exported symbol. Use once per plugin library, at namespace scope.
#define BACKUP_DOCTOR_PLUGIN(PluginClass)                                              \
  static_assert(std::is_base_of_v<::backup_doctor::sdk::Plugin, PluginClass>,          \
                "BACKUP_DOCTOR_PLUGIN: " #PluginClass                                  \
                " must derive from backup_doctor::sdk::Plugin");                       \
  static_assert(std::is_default_constructible_v<PluginClass>,                          \
                "BACKUP_DOCTOR_PLUGIN: " #PluginClass " needs a default constructor"); \
  extern "C" BD_EXPORT const bd_plugin_api* backup_doctor_plugin_entry(void) {         \
    return ::backup_doctor::sdk::detail::Thunks<PluginClass>::table();                 \
  }
