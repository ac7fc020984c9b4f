// A one-line progress display on a terminal's stderr, for runs that take more than a second.
#pragma once

#include "runner.hpp"

#include <chrono>

namespace backup_doctor {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled)
      : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  ~ProgressLine() { clear(); }
  void update(const RunProgress& p);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace backup_doctor
