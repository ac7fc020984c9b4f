// Helpers for the archive plugin's tests: deterministic source trees, archives made by the real
// tar/gzip/pigz/zstd/xz/bzip2, and independent ground truth (GNU tar's block numbers, gzip's
// own decoding) to check the plugin's figures against.
#pragma once

#include <backup_doctor/support/process.hpp>
#include "archive_plugin.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/testing.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace archive_test {

namespace fs = std::filesystem;
using backup_doctor::sdk::Status;
using backup_doctor::test::TempDir;

// Runs a tool (argv, no shell); a missing tool or a failure throws, so the test fails loudly.
inline std::string tool(const std::vector<std::string>& argv, const std::string& cwd = {},
                        bool allow_failure = false) {
  backup_doctor::support::ProcessOptions options;
  options.cwd = cwd;
  options.timeout = std::chrono::seconds(60);
  options.max_output = 256u << 20;
  auto r = backup_doctor::support::run_process(argv, options);
  if (!r.started) throw std::runtime_error("cannot run " + argv[0] + ": " + r.start_error);
  if (!allow_failure && !r.ok())
    throw std::runtime_error(argv[0] + " failed (" + r.describe() + "): " + r.err);
  return r.out;
}

// Runs a shell pipeline (only for building fixtures: `tar -c | zstd`, `cat a b > c`).
inline void sh(const std::string& script, const std::string& cwd = {}) {
  tool({"/bin/sh", "-ec", script}, cwd);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// Text that deflate compresses well, and bytes it cannot compress.
inline std::string text_data(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  static const char* words[] = {"backup",   "restore", "booking", "payment", "error",  "retry",
                                "customer", "invoice", "session", "archive", "verify", "room"};
  std::string out;
  while (out.size() < size) {
    out += "2024-11-29 " + std::to_string(rng() % 24) + ":" + std::to_string(rng() % 60) + " ";
    for (int i = 0; i < 6; ++i) out += std::string(words[rng() % 12]) + " ";
    out += "id=" + std::to_string(rng() % 100000) + "\n";
  }
  out.resize(size);
  return out;
}
inline std::string noise_data(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// A small application tree: nested directories, text and binary files of varied sizes.
// Returns the number of regular files.
inline int make_tree(const fs::path& root, int files = 24, uint32_t seed = 7) {
  for (int i = 0; i < files; ++i) {
    fs::path dir = root / ("dir" + std::to_string(i % 4)) / (i % 3 ? "sub" : "");
    size_t size = 3000 + static_cast<size_t>(i) * 5171;
    if (i % 2)
      write_file(dir / ("file" + std::to_string(i) + ".log"), text_data(size, seed + i));
    else
      write_file(dir / ("blob" + std::to_string(i) + ".bin"), noise_data(size, seed + i));
  }
  return files;
}

// One entry of a tar archive as GNU tar lists it with --block-number.
struct TarMember {
  uint64_t block = 0;  // header block
  uint64_t size = 0;
  char type = '-';
  std::string name;
  uint64_t header_offset() const { return block * 512; }
  // End of the entry's data including the padding to a whole block.
  uint64_t end() const { return (block + 1) * 512 + (size + 511) / 512 * 512; }
};

inline std::vector<TarMember> list_tar(const fs::path& plain_tar) {
  std::vector<TarMember> out;
  std::istringstream lines(tool({"tar", "--block-number", "-tvf", plain_tar.string()}));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("block ", 0) != 0 || line.find("** Block of NULs **") != std::string::npos ||
        line.find("** End of File **") != std::string::npos)
      continue;
    std::istringstream f(line);
    std::string word, block, perms, owner, size, date, time;
    f >> word >> block >> perms >> owner >> size >> date >> time;
    TarMember m;
    m.block = std::stoull(block.substr(0, block.size() - 1));
    m.type = perms[0];
    m.size = m.type == '-' ? std::stoull(size) : 0;
    std::getline(f, m.name);
    m.name = m.name.substr(1);
    out.push_back(m);
  }
  return out;
}

inline void flip_bit(const fs::path& in, const fs::path& out, uint64_t offset, int bit = 4) {
  std::string data = read_file(in);
  data.at(offset) = static_cast<char>(data.at(offset) ^ (1 << bit));
  write_file(out, data);
}

inline void truncate_copy(const fs::path& in, const fs::path& out, uint64_t size) {
  write_file(out, read_file(in).substr(0, size));
}

// How many bytes gzip itself manages to decode from a (damaged) file.
inline uint64_t gzip_decodable(const fs::path& gz) {
  backup_doctor::support::ProcessOptions options;
  options.max_output = 512u << 20;
  return backup_doctor::support::run_process({"gzip", "-dc", gz.string()}, options).out.size();
}

// What must not change when an archive is verified.
struct Snapshot {
  mode_t mode = 0;
  struct timespec mtime {};
  std::string content;
  bool operator==(const Snapshot& o) const {
    return mode == o.mode && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           content == o.content;
  }
};
inline Snapshot snapshot(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return {st.st_mode, st.st_mtim, read_file(p)};
}

inline void set_mtime(const fs::path& p, int64_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

inline backup_doctor::testing::Result run(const std::string& check, const nlohmann::json& params) {
  backup_doctor::archive::ArchivePlugin plugin;
  auto r = backup_doctor::testing::run_check(plugin, check, params);
  INFO(check << " " << params.dump() << " -> " << r.summary << " | " << r.error << " | "
             << r.details.dump());
  REQUIRE(r.reported);
  return r;
}

inline backup_doctor::testing::Result verify(const fs::path& archive, nlohmann::json extra = {}) {
  nlohmann::json params = {{"path", archive.string()}};
  for (auto& [k, v] : extra.items()) params[k] = v;
  return run("archive.verify", params);
}

}  // namespace archive_test
