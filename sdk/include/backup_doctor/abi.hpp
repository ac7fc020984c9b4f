// The ABI's values as C++: strings across the boundary and the status of a result. Shared by
// the SDK and the core, so both sides read a bd_str and rank a status the same way.
#pragma once

#include <backup_doctor/plugin_abi.h>

#include <string_view>

namespace backup_doctor::sdk {

inline bd_str to_bd(std::string_view s) {
  return bd_str{s.data(), s.size()};
}
// A borrowed string from the other side of the boundary (a null `data` is the empty string).
inline std::string_view from_bd(bd_str s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}

// The one encoding of a result's status, shared with the core (its values are the ABI's).
enum class Status : bd_status {
  ok = BD_STATUS_OK,
  warn = BD_STATUS_WARN,
  fail = BD_STATUS_FAIL,
  error = BD_STATUS_ERROR,
  skipped = BD_STATUS_SKIPPED,
};

// How bad a status is when several are combined into one: ok and skipped 0, warn 1, fail 2,
// error 3. An error ranks worst because nothing is known: a check that could not look cannot
// vouch for anything it did see.
constexpr int rank(Status s) {
  switch (s) {
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
// The worse of two statuses; on equal rank the first.
constexpr Status worse(Status a, Status b) {
  return rank(b) > rank(a) ? b : a;
}
// "ok", "warn", "fail", "error", "skipped": the word in every report.
constexpr std::string_view status_word(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
    case Status::error:
      return "error";
    case Status::skipped:
      return "skipped";
  }
  return "error";
}

}  // namespace backup_doctor::sdk
