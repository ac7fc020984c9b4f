#include "reporters/reporter.hpp"

#include <backup_doctor/system.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace backup_doctor {

std::optional<Format> format_from_string(const std::string& name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  if (name == "junit") return Format::junit;
  if (name == "prometheus") return Format::prometheus;
  if (name == "nagios") return Format::nagios;
  return std::nullopt;
}

std::vector<std::string> format_names() {
  return {"text", "json", "junit", "prometheus", "nagios"};
}

std::string render(Format format, const RunReport& report, const RenderOptions& options) {
  switch (format) {
    case Format::text:
      return render_text(report, options);
    case Format::json:
      return render_json(report);
    case Format::junit:
      return render_junit(report);
    case Format::prometheus:
      return render_prometheus(report, options);
    case Format::nagios:
      return render_nagios(report, options);
  }
  return {};
}

std::string write_file_atomically(const std::filesystem::path& file, const std::string& content) {
  auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    return "cannot create a temporary file in " + dir.string() + ": " + sdk::errno_text(errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = sdk::errno_text(errno);
      close(fd);
      unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + err;
    }
    off += static_cast<size_t>(n);
  }
  // mkstemp made it 0600; give it what any new file gets under the operator's umask.
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return "cannot write " + tmp + ": " + sdk::errno_text(errno);
  }
  if (rename(tmp.c_str(), file.c_str()) != 0) {
    std::string err = sdk::errno_text(errno);
    unlink(tmp.c_str());
    return "cannot replace " + file.string() + ": " + err;
  }
  return {};
}

}  // namespace backup_doctor
