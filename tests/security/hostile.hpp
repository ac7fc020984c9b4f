// The hostile backup account, for real: tests run as root (as operators run backup-doctor), plant
// what the unprivileged account `backup-doctor-test` (created by scripts/setup) could plant in a
// directory it owns, run the real backup-doctor over it, and look at what came out.
//
// What every attack test asserts, whatever it plants:
//   - nothing ran as uid 0 on the attacker's behalf (a payload writes `id -u` into a marker file
//     in a directory the account owns: the marker must be absent or not root's);
//   - no root-only content (a token in a root-only file) appears in any output or report file;
//   - the run ended within the check's timeout (plus the runner's own bookkeeping);
//   - no process the check started is left (by a marker in its command line);
//   - nothing was written outside the scratch locations.
#pragma once

#include <backup_doctor/support/process.hpp>
#include "support/cli.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>

namespace backup_doctor::test {

inline const support::UserIds& attacker() {
  static const support::UserIds user = [] {
    auto u = support::lookup_user("backup-doctor-test");
    if (!u) throw std::runtime_error("no backup-doctor-test account: run scripts/setup");
    return *u;
  }();
  return user;
}

// A unique marker, e.g. for a sleep's argument or a secret's text.
inline std::string unique_token(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(rd()) + std::to_string(rd());
}

// Runs `fn` in a child process as the attacker (so whatever it creates is really theirs).
inline void as_attacker(const std::function<void()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    const auto& u = attacker();
    if (setgid(u.gid) != 0 || setuid(u.uid) != 0) _exit(99);
    try {
      fn();
    } catch (...) {
      _exit(98);
    }
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  REQUIRE_MESSAGE((WIFEXITED(st) && WEXITSTATUS(st) == 0), "planting as the attacker failed");
}

// The scene of an attack: a root-owned base (reachable by the attacker), the attacker's own
// directory `home()` in it, and a root-only file with a secret token.
class Scene {
 public:
  Scene() : base_("bd-hostile") {
    chmod(base_.path().c_str(), 0755);
    home_ = base_.path() / "backups";
    std::filesystem::create_directory(home_);
    if (chown(home_.c_str(), attacker().uid, attacker().gid) != 0)
      throw std::runtime_error("chown failed");
    auto root_dir = base_.path() / "root-only";
    std::filesystem::create_directory(root_dir);
    chmod(root_dir.c_str(), 0700);
    secret_token_ = unique_token("ROOT-ONLY-");
    secret_file_ = root_dir / "shadow";
    std::ofstream(secret_file_) << "root:" << secret_token_ << ":19000:0:99999:7:::\n";
    chmod(secret_file_.c_str(), 0600);
    std::filesystem::create_directory(base_.path() / "conf");
  }

  const std::filesystem::path& base() const { return base_.path(); }
  const std::filesystem::path& home() const { return home_; }  // the attacker's directory
  const std::filesystem::path& secret_file() const { return secret_file_; }
  const std::string& secret_token() const { return secret_token_; }

  // Writes a file as the attacker, under home().
  std::filesystem::path plant(const std::string& rel, const std::string& content,
                              mode_t mode = 0644) const {
    auto p = home_ / rel;
    as_attacker([&] {
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << content;
      if (chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod");
    });
    return p;
  }
  std::filesystem::path plant_symlink(const std::string& rel, const std::string& target) const {
    auto p = home_ / rel;
    as_attacker([&] {
      std::filesystem::create_directories(p.parent_path());
      if (symlink(target.c_str(), p.c_str()) != 0) throw std::runtime_error("symlink");
    });
    return p;
  }
  std::filesystem::path plant_fifo(const std::string& rel) const {
    auto p = home_ / rel;
    as_attacker([&] {
      std::filesystem::create_directories(p.parent_path());
      if (mkfifo(p.c_str(), 0644) != 0) throw std::runtime_error("mkfifo");
    });
    return p;
  }
  // A program that, when run, writes its uid into `marker` (a file in the attacker's directory).
  std::filesystem::path plant_payload(const std::string& rel, const std::filesystem::path& marker,
                                      const std::string& extra = "") const {
    return plant(rel, "#!/bin/sh\nid -u > '" + marker.string() + "'\n" + extra, 0755);
  }

  // Writes the checklist (root-owned, as an operator's would be) and returns its path.
  std::filesystem::path checklist(const nlohmann::json& checks) const {
    auto p = base_.path() / "conf" / "checklist.json";
    std::ofstream(p) << checklist_json(checks);
    return p;
  }

 private:
  TempDir base_;
  std::filesystem::path home_, secret_file_;
  std::string secret_token_;
};

// Everything a run produced: stdout (json), stderr, and the JUnit, Prometheus and text reports.
struct Outcome {
  support::ProcessResult process;
  nlohmann::json report;
  std::string everything;  // all outputs and report files, concatenated
  std::chrono::milliseconds elapsed{0};

  const nlohmann::json& result(const std::string& id) const {
    for (const auto& r : report["results"])
      if (r["id"] == id) return r;
    FAIL("no result for check " << id);
    throw 0;
  }
};

// The real CLI as root over `checks` (a list, or one check object), with json on stdout and
// junit, prometheus and text reports, everything collected. Started in `cwd` with `env` on top
// of the runner's allow-list: what a cron job started elsewhere, or root's own PATH, would give.
inline Outcome run_as_root(const Scene& scene, const nlohmann::json& checks,
                           const std::string& cwd = "/",
                           const std::map<std::string, std::string>& env = {}) {
  auto file = scene.checklist(checks.is_array() ? checks : nlohmann::json::array({checks}));
  auto reports = scene.base() / "conf";
  support::ProcessOptions po;
  po.cwd = cwd;
  po.timeout = std::chrono::minutes(5);
  po.env = env;
  po.env.emplace("NO_COLOR", "1");
  Outcome o;
  auto started = std::chrono::steady_clock::now();
  o.process = support::run_process(
      {target_binary(), "--log-level", "debug", "run", file.string(), "--format", "json",
       "--report", "junit=" + (reports / "junit.xml").string(), "--report",
       "prometheus=" + (reports / "metrics.prom").string(), "--report",
       "text=" + (reports / "report.txt").string()},
      po);
  o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  o.report = nlohmann::json::parse(o.process.out, nullptr, false);
  if (o.report.is_discarded())
    MESSAGE("no JSON report (" << o.process.describe() << "): " << o.process.out.substr(0, 2000)
                               << o.process.err.substr(0, 2000));
  o.everything = o.process.out + o.process.err;
  for (const char* name : {"junit.xml", "metrics.prom", "report.txt"}) {
    std::ifstream in(reports / name);
    o.everything += std::string((std::istreambuf_iterator<char>(in)), {});
  }
  return o;
}

// Who wrote the marker: its owner's uid, or -1 when the payload never ran.
inline long marker_owner(const std::filesystem::path& marker) {
  struct stat st {};
  return ::lstat(marker.c_str(), &st) == 0 ? static_cast<long>(st.st_uid) : -1;
}

}  // namespace backup_doctor::test
