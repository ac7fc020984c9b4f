// archive.restore_space on the temp dir's real filesystem, on a real tmpfs too small for the
// restore (mounted in a private mount namespace), and the verdict's arithmetic on its own.
#include "fixtures.hpp"
#include "space.hpp"
#include "support/child.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <cerrno>
#include <cstring>

using namespace archive_test;

namespace {

// Runs archive.restore_space in a child process with a mount namespace of its own, in which
// `mount_at` is a tmpfs mounted with `options` ("size=1m,nr_inodes=40"). The small filesystem
// is real (statvfs sees it) yet visible to no other process, and it goes away with the child.
// Returns {status, summary, remediation, details} or {setup_error}.
nlohmann::json run_on_tmpfs(const fs::path& mount_at, const std::string& options,
                            const nlohmann::json& params) {
  return backup_doctor::test::run_in_child([&]() -> nlohmann::json {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_at.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
      return {{"setup_error", std::strerror(errno)}};
    backup_doctor::archive::ArchivePlugin plugin;
    auto r = backup_doctor::testing::run_check(plugin, "archive.restore_space", params);
    return {{"status", static_cast<int>(r.status)},
            {"summary", r.summary},
            {"remediation", r.remediation},
            {"details", r.details}};
  });
}

}  // namespace

TEST_CASE("the uncompressed size, not the archive size, is what must fit") {
  TempDir dir("bd-archive-space");
  make_tree(dir / "src", 12);
  sh("tar -czf a.tar.gz src", dir.path().string());
  auto r = run("archive.restore_space", {{"path", (dir / "a.tar.gz").string()},
                                         {"restore_target", (dir / "restore/here").string()}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["size_source"] == "scan");
  CHECK(r.details["content_bytes"].get<uint64_t>() > fs::file_size(dir / "a.tar.gz"));
  CHECK(r.details["required_bytes"].get<uint64_t>() >= r.details["content_bytes"].get<uint64_t>());
  size_t dirs = 1;  // src itself
  for (auto& e : fs::recursive_directory_iterator(dir / "src")) dirs += e.is_directory();
  CHECK(r.details["required_inodes"] == 12 + dirs);
  CHECK(r.details["measured_path"] == dir.path().string());
  CHECK(r.metric("archive_restore_required")->value > 0);
}

TEST_CASE("the verdict: short, inside the margin, enough") {
  using backup_doctor::archive::judge_room;
  using backup_doctor::archive::Room;
  CHECK(judge_room(100, 99, 0.1) == Room::short_of);
  CHECK(judge_room(100, 100, 0.1) == Room::tight);
  CHECK(judge_room(100, 109, 0.1) == Room::tight);
  CHECK(judge_room(100, 110, 0.1) == Room::enough);
  CHECK(judge_room(100, 100, 0) == Room::enough);
}

TEST_CASE(
    "a margin larger than the free space allows warns - the gzip trailer is read when small") {
  TempDir dir("bd-archive-space");
  struct statvfs vfs {};
  REQUIRE(::statvfs(dir.path().c_str(), &vfs) == 0);
  uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  write_file(dir / "src/zero.img", "");
  fs::resize_file(dir / "src/zero.img", 8u << 20);  // 8 MiB of zeros, a few KiB compressed
  sh("tar -cf - src | gzip -1 > z.tar.gz", dir.path().string());
  // A margin so large that need * (1 + margin) exceeds what is free, while need itself fits.
  double margin_percent = 100.0 * 2 * static_cast<double>(free_bytes) / (8u << 20);
  auto r = run("archive.restore_space", {{"path", (dir / "z.tar.gz").string()},
                                         {"restore_target", dir.path().string()},
                                         {"margin_percent", margin_percent}});
  CHECK(r.status == Status::warn);
  CHECK(r.details["content_bytes"] == (8u << 20));

  // The trailer of a small gzip whose length field claims 4 GiB - 1 bytes.
  std::string gz = read_file(dir / "z.tar.gz");
  REQUIRE(gz.size() < (4u << 20));
  uint32_t claimed = 0xffffffffu;
  for (int i = 0; i < 4; ++i)
    gz[gz.size() - 4 + i] = static_cast<char>((claimed >> (8 * i)) & 0xff);
  write_file(dir / "claim.tar.gz", gz);
  r = run("archive.restore_space", {{"path", (dir / "claim.tar.gz").string()},
                                    {"restore_target", dir.path().string()},
                                    {"size_source", "gzip_trailer"},
                                    {"margin_percent", 0}});
  CHECK(r.details["size_source"] == "gzip_trailer");
  CHECK(r.details["required_bytes"] == claimed);
  CHECK(!r.details.contains("required_inodes"));
  CHECK(r.status == (free_bytes < claimed ? Status::fail : Status::ok));
  if (r.status == Status::fail) CHECK(r.remediation.find("free at least") != std::string::npos);
}

TEST_CASE("a sparse file needs only its data blocks") {
  TempDir dir("bd-archive-space");
  fs::create_directories(dir / "src");
  sh("truncate -s 1G src/sparse.img && printf data | dd of=src/sparse.img bs=1 seek=4096 "
     "conv=notrunc 2>/dev/null && "
     "tar -cSzf s.tar.gz src",
     dir.path().string());
  auto r = run("archive.restore_space",
               {{"path", (dir / "s.tar.gz").string()}, {"restore_target", dir.path().string()}});
  CHECK(r.details["content_bytes"] == (1u << 30));
  CHECK(r.details["required_bytes"].get<uint64_t>() < (1u << 20));
}

TEST_CASE("free inodes are measured and compared with the entry count") {
  TempDir dir("bd-archive-space");
  make_tree(dir / "src", 6);
  sh("tar -czf a.tar.gz src", dir.path().string());
  struct statvfs vfs {};
  REQUIRE(::statvfs(dir.path().c_str(), &vfs) == 0);
  auto r = run("archive.restore_space",
               {{"path", (dir / "a.tar.gz").string()}, {"restore_target", dir.path().string()}});
  if (vfs.f_files > 0) {
    // Other tests create and remove files on the same filesystem meanwhile: compare loosely.
    auto measured = r.details["free_inodes"].get<double>();
    CHECK(measured == doctest::Approx(static_cast<double>(vfs.f_favail)).epsilon(0.01));
    CHECK(r.details["required_inodes"].get<uint64_t>() < vfs.f_favail);
  }
  CHECK(r.status == Status::ok);
}

TEST_CASE("a restore target on a filesystem too small fails, naming what to free") {
  TempDir dir("bd-archive-space");
  fs::create_directories(dir / "src");
  // 3 MiB that gzip cannot shrink, in 30 files: the archive is small only in name.
  sh("for i in $(seq 1 30); do head -c 102400 /dev/urandom > src/f$i.bin; done && "
     "tar -czf a.tar.gz src",
     dir.path().string());
  fs::create_directories(dir / "small");

  SUBCASE("too few bytes") {
    auto out = run_on_tmpfs(dir / "small", "size=1m",
                            {{"path", (dir / "a.tar.gz").string()},
                             {"restore_target", (dir / "small/restore").string()}});
    INFO(out.dump());
    REQUIRE_FALSE(out.contains("setup_error"));
    CHECK(out["status"] == static_cast<int>(Status::fail));
    CHECK(out["details"]["free_bytes"].get<uint64_t>() <= (1u << 20));
    CHECK(out["details"]["required_bytes"].get<uint64_t>() >= 30u * 102400);
    CHECK(out["details"]["filesystem"] == (dir / "small").string());
    CHECK(out["summary"].get<std::string>().find(": not enough") != std::string::npos);
    CHECK(out["remediation"].get<std::string>().find("free at least") != std::string::npos);
    CHECK(out["remediation"].get<std::string>().find("inodes") == std::string::npos);
  }
  SUBCASE("too few inodes") {
    auto out = run_on_tmpfs(
        dir / "small", "size=64m,nr_inodes=16",
        {{"path", (dir / "a.tar.gz").string()}, {"restore_target", (dir / "small").string()}});
    INFO(out.dump());
    REQUIRE_FALSE(out.contains("setup_error"));
    CHECK(out["status"] == static_cast<int>(Status::fail));
    CHECK(out["details"]["required_inodes"] == 31);  // 30 files and src/
    CHECK(out["details"]["free_inodes"].get<uint64_t>() < 31);
    CHECK(out["remediation"].get<std::string>().find("free at least") == std::string::npos);
    CHECK(out["remediation"].get<std::string>().find("inodes (many small files") !=
          std::string::npos);
  }
  SUBCASE("room, but less than the margin") {
    auto out = run_on_tmpfs(dir / "small", "size=3300k",
                            {{"path", (dir / "a.tar.gz").string()},
                             {"restore_target", (dir / "small").string()},
                             {"margin_percent", 50}});
    INFO(out.dump());
    REQUIRE_FALSE(out.contains("setup_error"));
    CHECK(out["status"] == static_cast<int>(Status::warn));
    CHECK(out["summary"].get<std::string>().find("less than the margin") != std::string::npos);
  }
  // The mount lived only in the child's namespace.
  struct statvfs here {
  }, small{};
  REQUIRE(::statvfs(dir.path().c_str(), &here) == 0);
  REQUIRE(::statvfs((dir / "small").c_str(), &small) == 0);
  CHECK(here.f_fsid == small.f_fsid);
}
