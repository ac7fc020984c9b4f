#include "logging.hpp"

#include "reporters/safe_text.hpp"
#include "scrubber.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <cstdio>
#include <mutex>

namespace backup_doctor {
namespace {

// Formats as usual, then masks secrets and shows control characters as escapes before anything
// reaches the terminal or a log file (messages carry plugin text, file names, log lines).
class ScrubbingStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ScrubbingStderrSink(std::shared_ptr<const Scrubber> scrubber)
      : scrubber_(std::move(scrubber)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string_view line(formatted.data(), formatted.size());
    bool newline = !line.empty() && line.back() == '\n';
    if (newline) line.remove_suffix(1);
    std::string text = printable(scrubber_->scrub(line)) + (newline ? "\n" : "");
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  std::shared_ptr<const Scrubber> scrubber_;
};

}  // namespace

bool setup_logging(const std::string& level, bool /*color*/,
                   std::shared_ptr<const Scrubber> scrubber) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  auto logger = std::make_shared<spdlog::logger>(
      "backup-doctor", std::make_shared<ScrubbingStderrSink>(std::move(scrubber)));
  logger->set_pattern("backup-doctor: %l: %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace backup_doctor
