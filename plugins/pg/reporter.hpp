// Wraps the SDK context so that no secret from the parameters (any "password" value, at any
// depth) can reach a summary, remediation, details, log line or metric label, even when the text
// comes from libpq or a tool's stderr.
#pragma once

#include <backup_doctor/sdk.hpp>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backup_doctor::pg {

class Reporter {
 public:
  Reporter(sdk::Context& ctx, const nlohmann::json& params);

  void ok(std::string_view summary, const nlohmann::json& details = nlohmann::json::object());
  void warn(std::string_view summary, std::string_view remediation,
            const nlohmann::json& details = nlohmann::json::object());
  void fail(std::string_view summary, std::string_view remediation,
            const nlohmann::json& details = nlohmann::json::object());
  void error(std::string_view summary, std::string_view remediation,
             const nlohmann::json& details = nlohmann::json::object());
  void skip(std::string_view reason, const nlohmann::json& details = nlohmann::json::object());
  void report(sdk::Status status, std::string_view summary, std::string_view remediation,
              const nlohmann::json& details);
  void metric(std::string_view name, double value, std::string_view unit,
              const nlohmann::json& labels = nlohmann::json::object());
  void info(std::string_view message);
  // Added to the details of whatever this check reports (unless the details set `key`).
  void note(const std::string& key, nlohmann::json value);

  std::string scrub(std::string_view text) const;
  nlohmann::json scrub_json(const nlohmann::json& value) const;

  // Safe to call from helper threads (the host API makes no promise about that).
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ctx_.cancelled();
  }
  sdk::Context& context() { return ctx_; }

 private:
  sdk::Context& ctx_;
  std::vector<std::string> secrets_;
  nlohmann::json notes_ = nlohmann::json::object();
  mutable std::mutex mutex_;
};

// An `error` result (the check could not determine the answer) with its remediation.
struct PgError : sdk::CheckError {
  PgError(const std::string& what, std::string remediation_text)
      : sdk::CheckError(what), remediation(std::move(remediation_text)) {}
  std::string remediation;
};

// Wraps a check body so that it reports through a Reporter and every exception becomes a
// scrubbed `error` result (the SDK's own exception path would not scrub the message).
template <typename Body>
sdk::CheckFunction guarded(Body body) {
  return [body](const nlohmann::json& params, sdk::Context& ctx) {
    Reporter r(ctx, params);
    try {
      body(params, r);
    } catch (const PgError& e) {
      if (!ctx.reported()) r.error(e.what(), e.remediation);
    } catch (const sdk::CheckError& e) {
      if (!ctx.reported())
        r.error(e.what(), "Correct this check's parameters in the checklist and run it again.");
    } catch (const std::exception& e) {
      if (!ctx.reported())
        r.error(std::string("internal error: ") + e.what(),
                "This is a backup-doctor bug or an unexpected server answer; rerun with the "
                "details in a bug report.");
    }
  };
}

// Collects the values of every "password" key in `params`, at any depth.
std::vector<std::string> collect_secrets(const nlohmann::json& params);

}  // namespace backup_doctor::pg
