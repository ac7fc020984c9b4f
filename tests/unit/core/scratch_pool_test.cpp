#include "scratch_pool.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

using namespace backup_doctor;
namespace fs = std::filesystem;

namespace {
mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("a scratch directory is ours, 0711, and handed on only when empty") {
  test::TempDir base("bd-scratch");
  std::string kept;
  {
    ScratchPool pool(base.path().string());
    std::string a = pool.acquire();
    REQUIRE(!a.empty());
    CHECK(fs::path(a).parent_path() == base.path());
    CHECK(mode_of(a) == 0711);

    pool.release(a);  // empty: the next check gets the same directory, without a new mkdir
    CHECK(pool.acquire() == a);

    // A check leaves a file and a link to something outside: the directory is removed without
    // following the link, and the next check gets a fresh one.
    auto outside = base.write("outside/keep.txt", "not the pool's");
    std::ofstream(fs::path(a) / "left.txt") << "x";
    fs::create_directory_symlink(outside.parent_path(), fs::path(a) / "link");
    pool.release(a);
    CHECK(!fs::exists(fs::symlink_status(a)));
    CHECK(fs::exists(outside));
    std::string b = pool.acquire();
    CHECK(b != a);
    CHECK(fs::is_empty(b));

    // Its mode changed by a check: not handed on as it is.
    chmod(b.c_str(), 0777);
    pool.release(b);
    CHECK(!fs::exists(b));
    kept = pool.acquire();
    CHECK(fs::exists(kept));
  }
  CHECK(!fs::exists(kept));  // every directory goes with the pool
}
