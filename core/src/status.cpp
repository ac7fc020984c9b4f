#include "status.hpp"

namespace backup_doctor {

std::string_view to_string(Status s) {
  return sdk::status_word(s);
}

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
  }
  return "critical";
}

std::optional<Status> status_from_string(std::string_view s) {
  for (Status v : {Status::ok, Status::warn, Status::fail, Status::error, Status::skipped})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::optional<Severity> severity_from_string(std::string_view s) {
  for (Severity v : {Severity::info, Severity::warning, Severity::critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

Status weighted(Status s, Severity severity) {
  if (s == Status::skipped) return Status::ok;
  switch (severity) {
    case Severity::critical:
      return s;
    case Severity::warning:
      return s == Status::fail ? Status::warn : s;
    case Severity::info:
      return s == Status::error ? Status::warn : Status::ok;
  }
  return s;
}

int exit_code_for(Status overall) {
  switch (overall) {
    case Status::ok:
    case Status::skipped:
      return 0;
    case Status::warn:
      return 1;
    case Status::fail:
      return 2;
    case Status::error:
      return 3;
  }
  return 3;
}

Status status_under_threshold(Status overall, Status fail_on) {
  return rank(overall) >= rank(fail_on) ? overall : Status::ok;
}

}  // namespace backup_doctor
