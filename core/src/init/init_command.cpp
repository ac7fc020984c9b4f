// Gather (jobs from cron and systemd), trace (the scripts they run), build (the checklist),
// check (it loads like any checklist), then write it and tell the operator what is next.
#include "init/init_command.hpp"

#include "checklist.hpp"
#include "init/checklist_builder.hpp"
#include "init/host_files.hpp"
#include "init/postgres_config.hpp"
#include "init/scheduled_job.hpp"
#include "reporters/safe_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace backup_doctor::init {
namespace {

std::string host_name(const HostFiles& host) {
  if (auto text = host.read("/etc/hostname")) {
    std::string name = text->substr(0, text->find('\n'));
    if (!name.empty()) return name;
  }
  char buf[256] = {};
  if (host.root().empty() && gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  return "this host";
}

// A NUL read from a script (no path or name can hold one) is shown as "\0": a checklist
// string must not hold it, and one byte must not stop init.
void without_nul(nlohmann::ordered_json& v) {
  if (v.is_string()) {
    std::string& s = v.get_ref<std::string&>();
    for (size_t at = s.find('\0'); at != std::string::npos; at = s.find('\0', at))
      s.replace(at, 1, "\\0");
  } else if (v.is_structured()) {
    for (auto& item : v) without_nul(item);
  }
}

// Written next to its final name, then renamed, so a reader never sees half a checklist.
bool write_file(const std::string& path, const std::string& text, bool force) {
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec)) {
    std::fprintf(stderr,
                 "backup-doctor init: %s exists; pass --force to replace it, or -o another file\n",
                 path.c_str());
    return false;
  }
  // A name no one can guess: in a directory others can write (/tmp), a fixed one could be made
  // first (a link, a file), and init would fail, or remove what it had not made.
  std::string tmp = path + ".init-tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "backup-doctor init: could not write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  // mkostemp makes it 0600; a checklist holds no secret and gets the operator's umask.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  bool ok = ::fchmod(fd, 0644 & ~mask) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) return true;
  std::fprintf(stderr, "backup-doctor init: could not write %s: %s\n", path.c_str(),
               std::strerror(errno));
  ::unlink(tmp.c_str());
  return false;
}

// What the host's files say is shown with its control characters escaped: a path in a script
// must not retitle the operator's terminal or clear it.
void print_summary(const StarterChecklist& s, const std::vector<ScheduledJob>& others,
                   const std::string& output) {
  auto shown = [](const std::string& text) { return printable(text); };
  std::fprintf(stderr, "backup-doctor init: %zu backup job%s, %zu checks\n", s.jobs.size(),
               s.jobs.size() == 1 ? "" : "s", s.checks);
  for (const auto& j : s.jobs) std::fprintf(stderr, "  %s\n", shown(j).c_str());
  if (!others.empty()) {
    std::fprintf(stderr, "Scheduled jobs with no backup command init knows (%zu):\n",
                 others.size());
    for (const auto& j : others) std::fprintf(stderr, "  %s:%d\n", shown(j.source).c_str(), j.line);
  }
  if (!s.notes.empty()) {
    std::fprintf(stderr,
                 "Notes: what init did not understand or check, and what stood out (%zu):\n",
                 s.notes.size());
    for (const auto& n : s.notes)
      std::fprintf(stderr, "  %s: %s\n", shown(n.where).c_str(), shown(n.message).c_str());
  }
  for (const auto& secret : s.secrets)
    std::fprintf(stderr, "Set before running: %s\n", shown(secret).c_str());
  const std::string file = output.empty() || output == "-" ? "CHECKLIST" : output;
  std::fprintf(
      stderr,
      "Next: review the vars, then 'backup-doctor validate %s' and 'backup-doctor run %s'\n",
      file.c_str(), file.c_str());
}

}  // namespace

int command_init(const InitOptions& options) {
  std::error_code ec;
  const std::string root =
      options.root == "/" ? ""
                          : std::filesystem::absolute(options.root, ec).lexically_normal().string();
  if (!root.empty() && !std::filesystem::is_directory(root, ec)) {
    std::fprintf(stderr, "backup-doctor init: --root %s is not a directory\n", root.c_str());
    return 3;
  }
  HostFiles host(root);
  JobSources sources;
  read_cron_jobs(host, sources);
  read_systemd_jobs(host, sources);
  ChecklistBuilder builder(host, root);
  for (const auto& n : sources.notes) builder.note(n.where, n.message);
  std::vector<TracedJob> traced;
  traced.reserve(sources.jobs.size());
  std::vector<ScheduledJob> others;
  for (const auto& job : sources.jobs) {
    traced.push_back(trace_job(host, job));
    if (traced.back().steps.empty()) others.push_back(job);
    builder.add_job(traced.back());
  }
  std::vector<std::string> wal_notes;
  for (const auto& wal : read_wal_archives(host, wal_notes)) builder.add_wal_archive(wal);
  for (const auto& n : wal_notes) builder.note("postgresql.conf", n);
  StarterChecklist result = builder.finish(host_name(host));
  if (result.checks == 0) {
    print_summary(result, others, options.output);
    std::fprintf(stderr, "backup-doctor init: no backup job found under %s; nothing written\n",
                 root.empty() ? "/" : root.c_str());
    return 2;
  }
  without_nul(result.checklist);
  // A path in a script need not be UTF-8; JSON must be (such a byte becomes U+FFFD).
  const std::string text =
      result.checklist.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  // What init writes must load like any checklist; anything else is a bug here, said plainly.
  ChecklistLoad load = load_checklist_text(text, "<init>");
  for (const auto& e : load.errors)
    std::fprintf(stderr, "backup-doctor init: internal error: %s\n", printable(e).c_str());
  if (!load.checklist) return 3;
  if (options.output.empty() || options.output == "-")
    std::fwrite(text.data(), 1, text.size(), stdout);
  else if (!write_file(options.output, text, options.force))
    return 2;
  print_summary(result, others, options.output);
  return 0;
}

}  // namespace backup_doctor::init
