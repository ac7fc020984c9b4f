// The assertions every attack test ends with (hostile.hpp lists them): nothing ran as root,
// no root-only content came out, the run ended in time, nothing was left running, nothing was
// written outside the scratch locations. Used by the rsync, s3, resources and selinux attacks.
#pragma once

#include "hostile.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace backup_doctor::test {

// Every path under `root` (relative), links not followed: what a run may not add to.
inline std::set<std::string> tree_listing(const std::filesystem::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator
           it(root, std::filesystem::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec))
    out.insert(std::filesystem::relative(it->path(), root).string());
  return out;
}

// The checklist and the report files run_as_root() writes: expected to appear.
inline void drop_reports(std::set<std::string>& listing) {
  for (const char* r :
       {"conf/checklist.json", "conf/junit.xml", "conf/metrics.prom", "conf/report.txt"})
    listing.erase(r);
}

struct Expectations {
  std::vector<std::filesystem::path> markers{};  // payload markers: absent, or not root's
  bool markers_absent = true;                    // false: a marker may exist, written not as root
  std::vector<std::string> secrets{};            // besides the scene's token: never in any output
  std::vector<std::string> process_markers{};    // no process with these in its command line
  std::chrono::milliseconds within{std::chrono::seconds(60)};
};

inline void check_contained(const Scene& scene, const Outcome& o,
                            const std::set<std::string>& before, const Expectations& e) {
  INFO("output: " << o.everything.substr(0, 6000));
  for (const auto& m : e.markers) {
    CAPTURE(m);
    if (e.markers_absent)
      CHECK(marker_owner(m) == -1);
    else
      CHECK(marker_owner(m) != 0);
  }
  CHECK(o.everything.find(scene.secret_token()) == std::string::npos);
  for (const auto& s : e.secrets) {
    CAPTURE(s);
    CHECK(o.everything.find(s) == std::string::npos);
  }
  CHECK(o.elapsed < e.within);
  CHECK_FALSE(o.process.timed_out);
  for (const auto& p : e.process_markers) {
    CAPTURE(p);
    CHECK(processes_with(p) == 0);
  }
  auto after = tree_listing(scene.base());
  drop_reports(after);
  for (const auto& m : e.markers)
    if (!e.markers_absent) after.erase(std::filesystem::relative(m, scene.base()).string());
  std::vector<std::string> added;
  for (const auto& p : after)
    if (!before.count(p)) added.push_back(p);
  CHECK_MESSAGE(added.empty(), "written during the run: " << (added.empty() ? "" : added.front()));
}

}  // namespace backup_doctor::test
