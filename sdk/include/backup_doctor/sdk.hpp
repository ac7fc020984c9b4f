// The C++ plugin SDK: a header-only wrapper over the C ABI in plugin_abi.h.
//
// A plugin is a class derived from backup_doctor::sdk::Plugin that registers its check types in
// its constructor, plus one line: BACKUP_DOCTOR_PLUGIN(MyPlugin). Everything that crosses the
// boundary is converted here: parameters arrive as nlohmann::json, results leave through
// Context, and every exception is caught before it can reach the host.
//
//   class Hello : public backup_doctor::sdk::Plugin {
//    public:
//     Hello() : Plugin("hello", "1.0.0", "Says hello") {
//       add_check("hello.world", "Always ok", "Longer documentation...",
//                 R"({"type":"object","properties":{"who":{"type":"string"}},
//                     "additionalProperties":false})",
//                 [](const nlohmann::json& params, backup_doctor::sdk::Context& ctx) {
//                   ctx.ok("hello " + params.value("who", std::string("world")));
//                 });
//     }
//   };
//   BACKUP_DOCTOR_PLUGIN(Hello)
#pragma once

#include <backup_doctor/plugin_abi.h>
#include <backup_doctor/duration.hpp>

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

inline bd_str to_bd(std::string_view s) {
  return bd_str{s.data(), s.size()};
}

enum class Status : bd_status {
  ok = BD_STATUS_OK,
  warn = BD_STATUS_WARN,
  fail = BD_STATUS_FAIL,
  error = BD_STATUS_ERROR,
  skipped = BD_STATUS_SKIPPED,
};

// Thrown by a check to end with an `error` result naming what went wrong (for example a
// parameter that parses but makes no sense). Any other exception is reported the same way.
struct CheckError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a running check talks to: wraps the host callbacks of one run_check call.
class Context {
 public:
  Context(const bd_host_api* host, bd_call* call) : host_(host), call_(call) {}

  // Sets the result. `remediation` is required in spirit for every non-ok status: say what the
  // operator should do about exactly what was found.
  void report(Status status, std::string_view summary, std::string_view remediation = {},
              const nlohmann::json& details = nlohmann::json::object()) {
    // Details often quote what a check read (a log line, a file name): bytes that are not
    // UTF-8 become U+FFFD rather than an exception that would lose the finding.
    std::string details_text = details.is_null() ? std::string() : dump_text(details);
    host_->report(call_, static_cast<bd_status>(status), to_bd(summary), to_bd(remediation),
                  to_bd(details_text));
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
  void skip(std::string_view reason, const nlohmann::json& details = nlohmann::json::object()) {
    report(Status::skipped, reason, {}, details);
  }

  // A metric attached to the result (exported to Prometheus as backup_doctor_<name>_<unit>).
  void metric(std::string_view name, double value, std::string_view unit = {},
              const nlohmann::json& labels = nlohmann::json::object()) {
    std::string labels_text = labels.empty() ? std::string() : dump_text(labels);
    host_->metric(call_, to_bd(name), value, to_bd(unit), to_bd(labels_text));
  }

  void log(int level, std::string_view message) { host_->log(call_, level, to_bd(message)); }
  void debug(std::string_view message) { log(BD_LOG_DEBUG, message); }
  void info(std::string_view message) { log(BD_LOG_INFO, message); }
  void progress(double fraction, std::string_view message = {}) {
    host_->progress(call_, fraction, to_bd(message));
  }
  bool cancelled() const { return host_->cancelled(call_) != 0; }

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
};

using CheckFunction = std::function<void(const nlohmann::json& params, Context& ctx)>;

struct CheckType {
  std::string type;     // full name, "files.exists"
  std::string summary;  // one line
  std::string doc;      // markdown paragraphs
  nlohmann::json params_schema;
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
  // `params_schema` is a JSON Schema (draft 7) for the check's "with" object, as text.
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
      const CheckType* check = plugin->find(std::string_view(check_type.data, check_type.size));
      if (check == nullptr) return BD_RC_UNKNOWN_CHECK;
      nlohmann::json params =
          params_json.size == 0
              ? nlohmann::json::object()
              : nlohmann::json::parse(std::string_view(params_json.data, params_json.size));
      Context ctx(host, call);
      check->run(params, ctx);
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

  static const bd_plugin_api* table() noexcept {
    static const bd_plugin_api api = {
        sizeof(bd_plugin_api), BD_ABI_MAJOR, BD_ABI_MINOR, &describe, &create, &destroy, &run_check,
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
