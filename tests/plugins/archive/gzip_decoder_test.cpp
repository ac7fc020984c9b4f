// The ISA-L gzip decoder on its own: multi-member files, zero padding and garbage between
// members, with read and output chunks so small that every member boundary, header and trailer
// straddles chunks. Its output must be byte for byte what gzip -dc produces.
#include "decoder.hpp"
#include "fixtures.hpp"

#include <fcntl.h>

using namespace archive_test;
using namespace backup_doctor::archive;

namespace {

struct Decoded {
  std::string data;
  std::optional<Damage> damage;
  nlohmann::json details;
  std::vector<uint64_t> member_starts;
};

Decoded decode(const fs::path& file, size_t read_chunk, size_t out_chunk) {
  int fd = open_read_only(file.string());
  REQUIRE(fd >= 0);
  ChunkReader reader(fd, ReadOptions{read_chunk, 3, true});
  auto decoder = make_decoder(reader, GzipEngine::isal, out_chunk);
  Decoded d;
  for (auto piece = decoder->next(); !piece.empty(); piece = decoder->next())
    d.data.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  decoder->take_member_starts(d.member_starts);
  d.damage = decoder->damage();
  d.details = decoder->details();
  CHECK(decoder->compression() == "gzip");
  return d;
}

}  // namespace

TEST_CASE("multi-member gzip across tiny chunks equals gzip -dc") {
  TempDir dir("bd-archive-gzip");
  std::string all;
  std::vector<uint64_t> starts;
  // Members of very different sizes and compressibility, by gzip and pigz, one of them empty.
  for (int i = 0; i < 9; ++i) {
    std::string part =
        i % 3 == 0 ? noise_data(1000 + i * 7919, i) : archive_test::text_data(i * 13331, i);
    if (i == 4) part.clear();
    write_file(dir / "part", part);
    starts.push_back(all.size());
    all += part;
    sh(std::string(i % 2 ? "pigz" : "gzip") + " -c part >> multi.gz", dir.path().string());
  }
  for (size_t read_chunk : {size_t{7}, size_t{61}, size_t{4093}, size_t{1} << 20}) {
    for (size_t out_chunk : {size_t{1}, size_t{333}, size_t{65536}}) {
      CAPTURE(read_chunk);
      CAPTURE(out_chunk);
      auto d = decode(dir / "multi.gz", read_chunk, out_chunk);
      CHECK_FALSE(d.damage);
      CHECK(d.data == all);
      CHECK(d.details["gzip_members"] == 9);
      CHECK(d.member_starts == starts);
    }
  }
}

TEST_CASE("zero padding after members is tolerated, garbage is counted") {
  TempDir dir("bd-archive-gzip");
  write_file(dir / "a", text_data(50000, 1));
  sh("gzip -c a > pad.gz && head -c 1000 /dev/zero >> pad.gz && gzip -c a > garbage.gz && "
     "printf 'XYZ%s' 'trailing' >> garbage.gz && gzip -c a > fake.gz && printf '\\037\\000xyz' >> "
     "fake.gz",
     dir.path().string());
  auto d = decode(dir / "pad.gz", 4096, 4096);
  CHECK_FALSE(d.damage);
  CHECK(d.data.size() == 50000);
  CHECK(d.details["trailing_zero_bytes"] == 1000);
  d = decode(dir / "garbage.gz", 4096, 4096);
  CHECK_FALSE(d.damage);
  CHECK(d.details["trailing_garbage_bytes"] == 11);
  // Looks like the start of a member but is not one: garbage too, not damage.
  d = decode(dir / "fake.gz", 16, 4096);
  CHECK_FALSE(d.damage);
  CHECK(d.details["gzip_members"] == 1);
  CHECK(d.details["trailing_garbage_bytes"] == 5);
}

TEST_CASE("truncation inside the header, the data and the trailer") {
  TempDir dir("bd-archive-gzip");
  write_file(dir / "a", text_data(200000, 2));
  sh("gzip -c a > a.gz", dir.path().string());
  uint64_t size = fs::file_size(dir / "a.gz");
  for (uint64_t cut : {uint64_t{5}, size / 2, size - 3}) {
    CAPTURE(cut);
    truncate_copy(dir / "a.gz", dir / "t.gz", cut);
    auto d = decode(dir / "t.gz", 1000, 4096);
    REQUIRE(d.damage);
    CHECK(d.damage->kind == "truncated");
    CHECK(d.damage->compressed_offset == cut);
    CHECK(d.damage->member_index == 0u);
    CHECK(d.data.size() <= 200000);
  }
}

TEST_CASE("a bad CRC in the trailer is a checksum mismatch at the member's end") {
  TempDir dir("bd-archive-gzip");
  write_file(dir / "a", text_data(100000, 3));
  sh("gzip -c a > a.gz", dir.path().string());
  uint64_t size = fs::file_size(dir / "a.gz");
  flip_bit(dir / "a.gz", dir / "b.gz", size - 6);  // inside the CRC-32
  auto d = decode(dir / "b.gz", 4096, 4096);
  REQUIRE(d.damage);
  CHECK(d.damage->kind == "checksum_mismatch");
  CHECK(d.damage->compressed_offset == size);
  CHECK(d.data.size() == 100000);  // every byte came out; they just cannot be trusted
}
