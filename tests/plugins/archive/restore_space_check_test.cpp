// archive.restore_space on the temp dir's real filesystem; the verdict's arithmetic on its own.
#include "archive_fixtures.hpp"
#include "space.hpp"

#include <sys/statvfs.h>

using namespace archive_test;

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
