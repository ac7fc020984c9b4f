// What a damaged archive still holds, against the real tools: the entries counted before the
// damage are the ones `tar -t` lists (it reads through `xz -d`, `bzip2 -d`, `zstd -d`), the
// uncompressed bytes are the ones those tools write before failing, and where garbage from a
// flipped bit in gzip data first shows, the compressed range reported holds the flipped byte.
#include "fixtures.hpp"

using namespace archive_test;

namespace {

// Many small entries, so that a decoder dropping its last 64 KiB loses several of them.
struct SmallFiles {
  TempDir dir{"bd-archive-recoverable"};
  fs::path plain;
  std::vector<TarMember> members;

  SmallFiles() {
    for (int i = 0; i < 240; ++i) {
      size_t size = 200 + static_cast<size_t>(i * 397) % 6000;
      fs::path p = dir / ("src/d" + std::to_string(i % 6) + "/f" + std::to_string(i));
      write_file(p, i % 4 ? text_data(size, i) : noise_data(size, i));
    }
    plain = dir / "plain.tar";
    // The same bytes every run, so that a damaged case is made again by the same run.
    tool({"tar", "--sort=name", "--mtime=@1700000000", "--owner=0", "--group=0", "--numeric-owner",
          "-cf", plain.string(), "-C", dir.path().string(), "src"});
    members = list_tar(plain);
  }
  fs::path compress(const std::string& command, const std::string& name) const {
    sh(command + " -c plain.tar > " + name, dir.path().string());
    return dir / name;
  }
  size_t complete_before(uint64_t decoded) const {
    size_t n = 0;
    for (const auto& m : members)
      if (m.end() <= decoded) ++n;
    return n;
  }
};

// Bytes `tool -dc` writes from a (damaged) file before it stops.
uint64_t decodable(const std::string& tool, const fs::path& file) {
  backup_doctor::support::ProcessOptions options;
  options.max_output = 64u << 20;
  return backup_doctor::support::run_process({tool, "-dc", file.string()}, options).out.size();
}

// Entries `tar -t` lists from a (damaged) file.
size_t gnu_listed(const fs::path& file) {
  std::string out = tool({"tar", "-tf", file.string()}, {}, true);
  return static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
}

// Ours, counted as `tar -t` counts: it lists the entry the damage cut short too, whose header
// it read (details.damage.damaged_entry_size says we read it).
size_t listed_like_tar(const nlohmann::json& damage) {
  return damage["recoverable_entries"].get<size_t>() +
         (damage.contains("damaged_entry_size") ? 1 : 0);
}

// A copy of `in` with its mtime in the past: a file modified in the last seconds that ends
// early gets a moment to grow before it is called truncated.
fs::path damaged(const fs::path& in, const fs::path& out, bool cut, uint64_t at) {
  if (cut)
    truncate_copy(in, out, at);
  else
    flip_bit(in, out, at, static_cast<int>(at % 8));
  set_mtime(out, 1700000000);
  return out;
}

}  // namespace

TEST_CASE(
    "xz and bzip2 damage: counted before it exactly what tar lists, decoded what xz/bzip2 write") {
  SmallFiles f;
  // bzip2 -1: blocks of 100 kB, several in the archive; xz: one block, as tar -J makes it.
  struct Kind {
    std::string command, name, tool;
  };
  for (const Kind& kind : {Kind{"xz", "a.tar.xz", "xz"}, Kind{"bzip2 -1", "a.tar.bz2", "bzip2"}}) {
    CAPTURE(kind.name);
    const std::string& name = kind.name;
    const std::string& tool_name = kind.tool;
    fs::path archive = f.compress(kind.command, name);
    uint64_t size = fs::file_size(archive);
    for (int i = 1; i <= 12; ++i) {
      bool cut = i % 2 == 1;
      uint64_t at = size * static_cast<uint64_t>(i) / 13 + 101;
      CAPTURE(cut);
      CAPTURE(at);
      fs::path bad = damaged(archive, f.dir / ("bad-" + name), cut, at);
      auto r = verify(bad);
      REQUIRE(r.status == Status::fail);
      const auto& d = r.details["damage"];
      CHECK(d["recoverable_is_lower_bound"] == false);
      CHECK(listed_like_tar(d) == gnu_listed(bad));
      // The walk saw every byte the tool writes before it fails.
      uint64_t written = decodable(tool_name, bad);
      CHECK(r.details["uncompressed_bytes"] == written);
      if (cut) {
        CHECK(d["kind"] == "truncated");
        CHECK(d["recoverable_entries"] == f.complete_before(written));
      } else {
        CHECK(d["kind"] == "corrupt_data");
      }
      if (tool_name == "bzip2") CHECK(written % 5000 == 0);  // bzip2(1)'s pieces
    }
  }
}

TEST_CASE("zstd damage through libarchive: the count is said to be a lower bound, and is one") {
  SmallFiles f;
  fs::path archive = f.compress("zstd -q", "a.tar.zst");
  uint64_t size = fs::file_size(archive);
  for (uint64_t at : {uint64_t{1000}, size / 3, size / 2 + 77, size - 5000}) {
    for (bool cut : {true, false}) {
      CAPTURE(at);
      CAPTURE(cut);
      fs::path bad = damaged(archive, f.dir / "bad.tar.zst", cut, at);
      auto r = verify(bad);
      REQUIRE(r.status == Status::fail);
      CHECK(r.details["compression"] == "zstd");  // even when the first block fails
      const auto& d = r.details["damage"];
      CHECK(d["recoverable_is_lower_bound"] == true);
      CHECK(listed_like_tar(d) <= gnu_listed(bad));
      CHECK(r.summary.find("at least") != std::string::npos);
      CHECK(r.summary.find("lower bound") != std::string::npos);
    }
  }
}

TEST_CASE("concatenated xz and bzip2 streams, and garbage after the last bzip2 stream") {
  SmallFiles f;
  std::string d = f.dir.path().string();
  uint64_t half = fs::file_size(f.plain) / 2 / 512 * 512;
  sh("head -c " + std::to_string(half) + " plain.tar > 1 && tail -c +" + std::to_string(half + 1) +
         " plain.tar > 2 && xz -c 1 > cat.tar.xz && xz -c 2 >> cat.tar.xz && bzip2 -c 1 > "
         "cat.tar.bz2 && bzip2 -c 2 >> cat.tar.bz2",
     d);
  for (const std::string name : {"cat.tar.xz", "cat.tar.bz2"}) {
    CAPTURE(name);
    auto r = verify(f.dir / name);
    CHECK(r.status == Status::ok);
    CHECK(r.details["entries"] == f.members.size());
  }
  CHECK(verify(f.dir / "cat.tar.bz2").details["bzip2_streams"] == 2);
  // bzip2 -t ignores garbage after a complete stream with a warning, and so do we.
  sh("cp cat.tar.bz2 junk.tar.bz2 && printf 'not bzip2' >> junk.tar.bz2 && bzip2 -t junk.tar.bz2",
     d);
  auto r = verify(f.dir / "junk.tar.bz2");
  CHECK(r.status == Status::warn);
  CHECK(r.details["trailing_garbage_bytes"] == 9);
  CHECK(r.details["entries"] == f.members.size());
  // xz -t refuses it: bytes after a stream must be padding or another stream.
  sh("cp cat.tar.xz junk.tar.xz && printf 'this is not xz at all' >> junk.tar.xz", d);
  CHECK(std::system(("xz -t " + (f.dir / "junk.tar.xz").string() + " 2>/dev/null").c_str()) != 0);
  r = verify(f.dir / "junk.tar.xz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "corrupt_data");
  CHECK(r.details["damage"]["recoverable_entries"] == f.members.size());
}

// gzip(1) exits on invalid deflate data without writing the 32 KiB window it was filling, so
// GNU tar never sees those bytes, and neither does the walk. Where ISA-L finds data invalid that
// gzip decodes on (it does not check every back-reference), tar may list more: a lower bound.
TEST_CASE("invalid deflate data: what gzip -d writes before it, and a lower bound") {
  SmallFiles f;
  fs::path gz = f.compress("gzip -n", "a.tar.gz");
  uint64_t size = fs::file_size(gz);
  std::mt19937_64 rng(5);
  int invalid = 0, same_bytes = 0;
  int i = 0;
  for (; i < 3000 && invalid < 8; ++i) {
    uint64_t at = 20 + rng() % (size - 30);
    CAPTURE(at);
    fs::path bad = damaged(gz, f.dir / "bad.tar.gz", false, at);
    auto r = verify(bad);
    const auto& d = r.details["damage"];
    if (r.status != Status::fail || d["kind"] != "corrupt_data") continue;
    ++invalid;
    CHECK(d["recoverable_is_lower_bound"] == true);
    CHECK(r.summary.find("at least") != std::string::npos);
    uint64_t ours = r.details["uncompressed_bytes"], written = gzip_decodable(bad);
    CHECK(ours % (32u << 10) == 0);
    CHECK(ours <= written);
    same_bytes += ours == written;
    CHECK(listed_like_tar(d) <= gnu_listed(bad));
  }
  MESSAGE(invalid << " invalid in " << i << " flips, " << same_bytes << " same bytes");
  CHECK(invalid >= 5);
  CHECK(same_bytes >= invalid / 2);  // where gzip finds the same damage, the very same bytes
}

// Where the garbage first showed as a broken tar header, the first symptom's compressed range
// holds the flipped byte when the output decoded around it lies after the last header read
// fine or within deflate's 32 KiB window before the broken header. Otherwise the changed bytes
// reached that header through copies of copies (repetitive text does that): no bound short of
// the member's start holds then, and the docs say so.
TEST_CASE("a flipped bit in gzip data: the first symptom's compressed range holds the flip") {
  SmallFiles f;
  fs::path gz = f.compress("gzip -n", "a.tar.gz");
  uint64_t size = fs::file_size(gz);
  std::mt19937_64 rng(97);
  int with_symptom = 0, through_copies = 0;
  for (int i = 0; i < 120; ++i) {
    uint64_t at = 20 + rng() % (size - 30);
    CAPTURE(at);
    fs::path bad = damaged(gz, f.dir / "bad.tar.gz", false, at);
    auto r = verify(bad);
    if (std::system(("gzip -t " + bad.string() + " 2>/dev/null").c_str()) == 0) {
      CHECK(r.status == Status::ok);  // a flip deflate never reads (an unused code, say)
      continue;
    }
    REQUIRE(r.status == Status::fail);
    const auto& d = r.details["damage"];
    if (!d.contains("first_symptom")) continue;
    ++with_symptom;
    const auto& s = d["first_symptom"];
    CHECK(s["compressed_offset"].get<uint64_t>() >= at);
    // Where in the output the flipped byte is: what gzip decodes from the bytes before it.
    truncate_copy(gz, f.dir / "head.gz", at);
    uint64_t flip_out = gzip_decodable(f.dir / "head.gz");
    uint64_t broken = s["uncompressed_offset"];
    uint64_t entries = d["entries_before_damage"];
    uint64_t last_good = entries > 0 ? f.members[entries - 1].header_offset() : 0;
    uint64_t reach = std::min(last_good, broken);
    reach = reach > (32u << 10) ? reach - (32u << 10) : 0;
    if (flip_out >= reach)
      CHECK(s["compressed_range_start"].get<uint64_t>() <= at);
    else
      ++through_copies;
  }
  // Enough flips made garbage that showed as a bad tar header for the check to mean something.
  CHECK(with_symptom >= 15);
  MESSAGE(with_symptom << " first symptoms, " << through_copies << " reached through copies");
}

namespace {
struct TarHeader {
  uint64_t offset = 0;
  char type = '0';
};
// Every header of a plain tar, extension headers included, following the sizes.
std::vector<TarHeader> header_chain(const std::string& tar) {
  std::vector<TarHeader> out;
  for (uint64_t at = 0; at + 512 <= tar.size() && tar[at] != '\0';) {
    uint64_t size = std::stoull(tar.substr(at + 124, 12), nullptr, 8);
    out.push_back({at, tar[at + 156]});
    at += 512 + (size + 511) / 512 * 512;
  }
  return out;
}
}  // namespace

TEST_CASE("a damaged header after a pax or GNU long-name header: the walk goes on, as GNU tar's") {
  TempDir dir("bd-archive-exthdr");
  for (int i = 0; i < 40; ++i)
    write_file(dir / ("src/" + std::string(i % 2 ? 110 : 20, 'a' + i % 26) + std::to_string(i)),
               text_data(700 + static_cast<size_t>(i) * 300, i));
  std::string d = dir.path().string();
  // pax as GNU tar writes it by default: an extended header (sub-second times) for each entry.
  sh("tar --format=pax -cf pax.tar src && tar --format=gnu -cf gnu.tar src", d);
  struct Format {
    std::string name;
    char extension;  // the extension header type its long or non-ASCII names get
  };
  for (const Format& format : {Format{"pax.tar", 'x'}, Format{"gnu.tar", 'L'}}) {
    CAPTURE(format.name);
    const std::string& name = format.name;
    const char extension = format.extension;
    std::string tar = read_file(dir / name);
    auto chain = header_chain(tar);
    // The 10th header that follows an extension header.
    size_t found = 0, k = 0;
    for (size_t i = 1; i < chain.size() && found < 10; ++i)
      if (chain[i - 1].type == extension && chain[i].type == '0') ++found, k = i;
    REQUIRE(found == 10);
    tar.at(chain[k].offset + 148) ^= 0x01;  // its checksum field
    write_file(dir / ("bad-" + name), tar);
    sh("gzip -c bad-" + name + " > bad-" + name + ".gz", d);
    for (const std::string& file : {"bad-" + name, "bad-" + name + ".gz"}) {
      CAPTURE(file);
      size_t gnu = gnu_listed(dir / file);
      auto r = verify(dir / file);
      REQUIRE(r.status == Status::fail);
      const auto& damage = r.details["damage"];
      CHECK(damage["kind"] == "tar_header");
      CHECK(listed_like_tar(damage) == gnu);
      CHECK(damage["entries_after_damage"].get<size_t>() > 10);
    }
  }
}
