// Fixture /proc and /sys trees for the resources tests, and hooks that swap fixture files
// between the two samples a check takes.
#pragma once

#include "resources_plugin.hpp"
#include "support/temp_dir.hpp"

#include <backup_doctor/testing.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace backup_doctor::resources::test {

struct FakeHost {
  backup_doctor::test::TempDir dir{"bd-resources"};
  std::string proc() const { return (dir.path() / "proc").string(); }
  std::string sys() const { return (dir.path() / "sys").string(); }

  void proc_file(const std::string& rel, const std::string& content) const {
    dir.write("proc/" + rel, content);
  }
  void psi(const std::string& resource, double some60, double full60 = 0,
           bool with_full = true) const {
    auto line = [](const char* kind, double avg60) {
      return std::string(kind) + " avg10=" + std::to_string(avg60) +
             " avg60=" + std::to_string(avg60) + " avg300=" + std::to_string(avg60 / 2) +
             " total=123456789\n";
    };
    proc_file("pressure/" + resource,
              line("some", some60) + (with_full ? line("full", full60) : ""));
  }
  // A block device in the fixture /sys: dev/block/MAJ:MIN -> devices/.../NAME.
  void block_device(unsigned maj, unsigned min, const std::string& name,
                    const std::string& parent = "") const {
    std::string devdir = parent.empty() ? "sys/devices/virtual/block/" + name
                                        : "sys/devices/virtual/block/" + parent + "/" + name;
    dir.write(devdir + "/uevent", "MAJOR=" + std::to_string(maj) + "\nMINOR=" +
                                      std::to_string(min) + "\nDEVNAME=" + name + "\n");
    if (!parent.empty()) dir.write(devdir + "/partition", "1\n");
    std::filesystem::create_directories(dir.path() / "sys/dev/block");
    std::filesystem::create_symlink(
        "../../" + devdir.substr(4),
        dir.path() / "sys/dev/block" / (std::to_string(maj) + ":" + std::to_string(min)));
  }
};

// Hooks whose wait() runs `between` (to change fixture files) and reports `elapsed` ms.
inline Hooks swapping_hooks(std::function<void()> between, long elapsed_ms = 1000,
                            std::function<std::optional<int>(const std::string&, int)> prio = {}) {
  Hooks h;
  h.wait = [between, elapsed_ms](std::chrono::milliseconds, sdk::Context&) {
    if (between) between();
    return std::chrono::milliseconds(elapsed_ms);
  };
  h.io_priority =
      prio ? prio : [](const std::string&, int) -> std::optional<int> { return std::nullopt; };
  return h;
}

inline std::string meminfo(long total_kb, long avail_kb, long swap_total_kb = 0,
                           long swap_free_kb = 0) {
  return "MemTotal:       " + std::to_string(total_kb) + " kB\n" +
         "MemFree:        " + std::to_string(avail_kb / 2) + " kB\n" +
         "MemAvailable:   " + std::to_string(avail_kb) + " kB\n" +
         "Buffers:           1000 kB\nCached:           2000 kB\n" +
         "SwapTotal:      " + std::to_string(swap_total_kb) + " kB\n" +
         "SwapFree:       " + std::to_string(swap_free_kb) + " kB\n";
}

inline const testing::Metric* metric_with(const testing::Result& r, const std::string& name,
                                          const std::string& unit) {
  for (const auto& m : r.metrics)
    if (m.name == name && m.unit == unit) return &m;
  return nullptr;
}

}  // namespace backup_doctor::resources::test
