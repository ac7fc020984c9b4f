// Statuses and severities of check results, and how they combine into an overall status.
#pragma once

#include <backup_doctor/abi.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor {

// The one encoding of a status, the SDK's (the ABI's values): ok, warn, fail, error, skipped.
// `skipped` ranks with ok (a skipped check is not a finding by itself: the reason it was
// skipped is).
using Status = sdk::Status;
enum class Severity { info = 0, warning = 1, critical = 2 };

std::string_view to_string(Status s);
std::string_view to_string(Severity s);
std::optional<Status> status_from_string(std::string_view s);
std::optional<Severity> severity_from_string(std::string_view s);

// Rank for "worst of": ok/skipped 0, warn 1, fail 2, error 3.
using sdk::rank;

// How much a result weighs in the overall status: a failing `warning` check only warns, an
// `info` check never raises the run above ok unless it could not run at all (then it warns).
Status weighted(Status s, Severity severity);

// Exit codes (Nagios-compatible): 0 ok, 1 warnings, 2 failures, 3 errors or unknown.
int exit_code_for(Status overall);

// The overall status as `run` reports it under `--fail-on`: below the threshold it counts as ok
// (so `--fail-on fail` turns a `warn` run into an ok one). Its exit_code_for() is the exit code.
Status status_under_threshold(Status overall, Status fail_on);

}  // namespace backup_doctor
