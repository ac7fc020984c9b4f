#include "progress.hpp"

#include <cstdio>
#include <string>

namespace backup_doctor {

void ProgressLine::update(const RunProgress& p) {
  if (!enabled_) return;
  if (std::chrono::steady_clock::now() - start_ < std::chrono::seconds(1)) return;
  std::string line = "[" + std::to_string(p.done) + "/" + std::to_string(p.total) + "]";
  if (!p.running.empty()) {
    line += " running:";
    for (const auto& id : p.running) line += " " + id;
  }
  if (line.size() > 78) line = line.substr(0, 75) + "...";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace backup_doctor
