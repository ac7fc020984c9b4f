#include "etag.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

using namespace backup_doctor::s3;

namespace {
// The check opens the file through the safe-open primitive and hands over the descriptor.
LocalEtags etags_of(const std::string& path, bool want_md5, const std::vector<uint64_t>& sizes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{fd};
  return compute_local_etags(fd, path, want_md5, sizes);
}
}  // namespace

TEST_CASE("s3 etag: local MD5 and multipart ETags in one pass") {
  backup_doctor::test::TempDir dir("bd-s3-etag");
  std::string data(2'500'000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  auto path = dir.write("backup.bin", data).string();

  // Expected values computed independently (Python hashlib).
  auto e = etags_of(path, true, {1 << 20, 1'000'000});
  CHECK(e.size == 2'500'000);
  CHECK(e.md5 == "e4ba78c2ad1363c0febf13fe03f60abb");
  CHECK(e.multipart.at(1 << 20) == "350e15c995ea871f5c0783c9cf6ab9b3-3");
  CHECK(e.multipart.at(1'000'000) == "299cfaf5c83bf6d21d4eb1836f2d44f0-3");

  auto empty = etags_of(dir.write("empty", "").string(), true, {});
  CHECK(empty.md5 == "d41d8cd98f00b204e9800998ecf8427e");

  CHECK_THROWS(etags_of((dir / "missing").string(), true, {}));

  SUBCASE("part sizes consistent with a part count") {
    const uint64_t MiB = 1 << 20;
    auto c = consistent_part_sizes(20 * MiB, 3, common_part_sizes());
    REQUIRE_FALSE(c.empty());
    CHECK(c.front() == 8 * MiB);
    CHECK(std::find(c.begin(), c.end(), 16 * MiB) == c.end());
    auto two = consistent_part_sizes(20 * MiB, 2, common_part_sizes());
    CHECK(std::find(two.begin(), two.end(), 16 * MiB) != two.end());
    CHECK(std::find(two.begin(), two.end(), 8 * MiB) == two.end());
  }
}
