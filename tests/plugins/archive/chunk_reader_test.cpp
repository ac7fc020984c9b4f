// The reading/hashing thread: digests equal sha256sum's, early stops join cleanly, and the
// read-only open works for a user who does not own the file (O_NOATIME is refused to them).
#include "chunk_reader.hpp"
#include "fixtures.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace archive_test;
using namespace backup_doctor::archive;

TEST_CASE("chunks cover the file in order and the digest equals sha256sum's") {
  TempDir dir("bd-archive-reader");
  std::string data = noise_data(3'000'001, 11);
  write_file(dir / "f", data);
  for (size_t chunk : {size_t{1000}, size_t{65536}, size_t{4} << 20}) {
    CAPTURE(chunk);
    int fd = open_read_only((dir / "f").string());
    REQUIRE(fd >= 0);
    ChunkReader reader(fd, ReadOptions{chunk, 3, true});
    std::string seen;
    for (auto c = reader.next(); !c.empty(); c = reader.next())
      seen.append(reinterpret_cast<const char*>(c.data()), c.size());
    CHECK(seen == data);
    CHECK(reader.consumed() == data.size());
    CHECK(reader.finish_digest() == tool({"sha256sum", (dir / "f").string()}).substr(0, 64));
  }
}

TEST_CASE("either side may read: a slow and a fast consumer both see every byte once, in order") {
  // A consumer that pauses lets the hasher read ahead; one that never pauses catches up with it
  // and reads chunks itself. Both ways the stream and the digest must come out the same.
  TempDir dir("bd-archive-reader");
  std::string data = noise_data(2'000'003, 13);
  write_file(dir / "f", data);
  std::string expected = tool({"sha256sum", (dir / "f").string()}).substr(0, 64);
  for (size_t chunks : {size_t{2}, size_t{3}, size_t{64}}) {
    for (bool slow : {false, true}) {
      CAPTURE(chunks);
      CAPTURE(slow);
      ChunkReader reader(open_read_only((dir / "f").string()), ReadOptions{4096, chunks, true});
      std::string seen;
      size_t n = 0;
      for (auto c = reader.next(); !c.empty(); c = reader.next()) {
        seen.append(reinterpret_cast<const char*>(c.data()), c.size());
        if (slow && ++n % 50 == 0) ::usleep(200);
      }
      CHECK(seen == data);
      CHECK(reader.finish_digest() == expected);
    }
  }
}

TEST_CASE("finish_digest hashes what the consumer did not take; early destruction joins") {
  TempDir dir("bd-archive-reader");
  write_file(dir / "f", noise_data(1'000'000, 12));
  {
    ChunkReader reader(open_read_only((dir / "f").string()), ReadOptions{4096, 4, true});
    reader.next();
    CHECK(reader.finish_digest() == tool({"sha256sum", (dir / "f").string()}).substr(0, 64));
  }
  {
    ChunkReader reader(open_read_only((dir / "f").string()), ReadOptions{4096, 4, true});
    reader.next();  // stop after one chunk: the destructor must stop and join the thread
  }
  write_file(dir / "empty", "");
  ChunkReader reader(open_read_only((dir / "empty").string()), ReadOptions{});
  CHECK(reader.next().empty());
  CHECK(reader.finish_digest() ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("a read error ends the stream, is reported with its offset, and leaves no digest") {
  // read() on a directory fails with EISDIR: a real read error, whichever thread meets it.
  TempDir dir("bd-archive-reader");
  for (bool consumer_first : {true, false}) {
    CAPTURE(consumer_first);
    int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    ChunkReader reader(fd, ReadOptions{4096, 4, true});
    if (!consumer_first) ::usleep(20000);  // let the hashing thread hit it first
    CHECK(reader.next().empty());
    CHECK(reader.error() == EISDIR);
    CHECK(reader.error_offset() == 0);
    CHECK(reader.finish_digest().empty());
  }
}

TEST_CASE("a user who does not own the archive can still open it (no O_NOATIME for them)") {
  TempDir dir("bd-archive-reader");
  ::chmod(dir.path().c_str(), 0755);
  auto file = dir / "owned-by-root.tar.gz";
  write_file(file, "data");
  ::chmod(file.c_str(), 0644);
  auto user = backup_doctor::support::lookup_user("nobody");
  REQUIRE(user);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(user->gid) != 0 || ::setuid(user->uid) != 0) ::_exit(3);
    int fd = open_read_only(file.string());
    ::_exit(fd >= 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
