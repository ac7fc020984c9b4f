// The verdict matrix: archive.verify against GNU tar and each compressor's own test on ~200
// archives damaged at random, generated at test time from a fixed seed.
//
// A tree with regular files of varied sizes (text that compresses, noise that does not), a
// sparse file, hard links, symlinks, non-ASCII names and names over 100 characters is archived
// by GNU tar twice, --format=gnu (long names as ././@LongLink) and --format=pax (an extended
// header for every entry, with its nanosecond mtime and any long or non-ASCII name), and each tar
// is compressed with gzip, zstd, xz and bzip2 or left as it is: ten archives. Each is checked
// intact, cut at kCuts random lengths and with kFlips random single bits flipped; positions and
// bits come from a std::mt19937_64 seeded with kSeed, in a fixed order, so a case printed on
// failure is made again by the same run.
//
// Ground truth, per case (LC_ALL=C.UTF-8): the compressor's test (`gzip -t`, `zstd -t`, `xz -t`,
// `bzip2 -t`; gzip's exit 2 is a warning) and `tar -tf`'s exit status and listed entries. GNU
// calls a case damaged when either fails; and a plain tar cut inside a block before its last
// entry is damaged too (a tar is a sequence of 512-byte blocks; GNU tar takes a cut inside a
// header block for the end of the archive, lists "** End of File **" and exits 0; a cut in the
// zeros after the last entry loses nothing). What is compared, and why it is fair:
//
// - Intact archives: ok, with exactly the entries `tar -t` lists.
// - GNU says damaged: our verdict is never ok. When the compressor's test fails, our damage kind
//   is one of the compression layer's (we must not say "the compression is intact"); when only
//   tar fails, it is one of the tar layer's.
// - GNU says fine: a flip can land where nothing checks it (file data or padding of a plain
//   tar, the gzip header's MTIME/OS bytes, a zstd window size that only grows, the unused bits
//   of the last byte). Then we must not fail either; ok or a warning (data after the end
//   marker, say) is fair, and when ok, the entries are the ones `tar -t` lists.
// - Counts, on damage: `tar -t` lists an entry as soon as its header is read, so it also lists
//   the entry the damage cut short; ours are complete entries, plus that one when
//   `damaged_entry_size` says its header was read. The two must be equal, or where our details
//   say `recoverable_is_lower_bound` (libarchive's zstd filter drops the block it was decoding;
//   ISA-L stops at deflate data gzip decodes on), ours may be lower; how much lower is printed.
// - Where garbage from a flipped bit first showed as a bad tar header, how often the compressed
//   range our details give for it (gzip only) misses the flipped byte is printed: it may when
//   the changed bytes travelled through copies of copies (recoverable_test.cpp checks the
//   range where it must hold).
//
// A mismatch prints the archive, the damage (cut length or flipped byte and bit) and the seed;
// with BD_MATRIX_KEEP=<dir> the damaged file and its archive are kept there. The whole test
// takes 20-30 s on two busy cores, most of it in the GNU tools.
#include "fixtures.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <optional>

using namespace archive_test;

namespace {

constexpr uint64_t kSeed = 20241129;
constexpr int kCuts = 10, kFlips = 9;

// Regular files of varied sizes, most small as in an application tree, some large.
void add_regular_files(const fs::path& root, std::mt19937_64& rng) {
  for (int i = 0; i < 90; ++i) {
    uint64_t roll = rng() % 100;
    size_t size = roll < 10   ? static_cast<size_t>(rng() % 64)
                  : roll < 90 ? static_cast<size_t>(64 + rng() % 12000)
                              : static_cast<size_t>(30000 + rng() % 70000);
    auto seed = static_cast<uint32_t>(rng());
    fs::path dir = root / ("d" + std::to_string(i % 5)) / (i % 3 ? "sub" : "");
    if (rng() % 3 == 0)
      write_file(dir / ("blob" + std::to_string(i) + ".bin"), noise_data(size, seed));
    else
      write_file(dir / ("log" + std::to_string(i) + ".txt"), text_data(size, seed));
  }
}

// The entries tar formats treat specially.
void add_special_entries(const fs::path& root) {
  write_file(root / "intl/caf\xc3\xa9-\xc3\xbc.txt", text_data(3000, 1));
  write_file(root / "intl/\xe6\x97\xa5\xe6\x9c\xac/\xe3\x83\xa1\xe3\x83\xa2.txt",
             text_data(900, 2));
  write_file(root / ("long/" + std::string(120, 'n') + ".txt"), text_data(5000, 3));
  std::string deep = "long";
  for (int i = 0; i < 5; ++i) deep += "/directory_level_" + std::to_string(i) + "_with_a_long_name";
  write_file(root / deep / "file.txt", text_data(700, 4));
  // Sparse: 6 MiB with three stretches of data.
  fs::create_directories(root / "sparse");
  {
    std::ofstream out(root / "sparse/disk.img", std::ios::binary);
    out << text_data(4096, 5);
    out.seekp(3 << 20);
    out << noise_data(8192, 6);
    out.seekp((6 << 20) - 1024);
    out << text_data(1024, 7);
  }
  fs::create_directories(root / "links");
  fs::create_hard_link(root / "intl/caf\xc3\xa9-\xc3\xbc.txt", root / "links/hard-1");
  fs::create_hard_link(root / "intl/caf\xc3\xa9-\xc3\xbc.txt", root / "links/hard-2");
  fs::create_symlink("../long/" + std::string(120, 'n') + ".txt", root / "links/to-long");
  fs::create_symlink("nowhere", root / "links/dangling");
}

// Every entry's mtime, with nanoseconds: GNU tar's pax format then gives each entry an extended
// header, as it does for real trees (and the archives are the same bytes every run).
void set_times(const fs::path& root) {
  struct timespec times[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
  for (const auto& e : fs::recursive_directory_iterator(root))
    ::utimensat(AT_FDCWD, e.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, root.c_str(), times, 0);
}

struct Archive {
  std::string name, compression;  // compression as our details name it
  fs::path path;
};

std::vector<Archive> make_archives(const TempDir& dir) {
  const std::string common =
      "LC_ALL=C.UTF-8 tar --sparse --sort=name --owner=0 --group=0 --numeric-owner ";
  sh(common + "--format=gnu -cf gnu.tar src", dir.path().string());
  // Sparse format 0.0: the default 1.0 names a sparse member's ustar header after tar's PID,
  // and the archive would differ from run to run.
  sh(common + "--format=pax --sparse-version=0.0 --pax-option=delete=atime,delete=ctime -cf " +
         "pax.tar src",
     dir.path().string());
  std::vector<Archive> out;
  for (std::string tar : {"gnu", "pax"}) {
    struct {
      std::string ext, compression, command;
    } kinds[] = {{".tar.gz", "gzip", "gzip -n -c"},
                 {".tar.zst", "zstd", "zstd -q -c"},
                 {".tar.xz", "xz", "xz -c"},
                 {".tar.bz2", "bzip2", "bzip2 -c"},
                 {".tar", "none", ""}};
    for (const auto& k : kinds) {
      std::string name = tar + k.ext;
      if (!k.command.empty()) sh(k.command + " " + tar + ".tar > " + name, dir.path().string());
      out.push_back({name, k.compression, dir / name});
    }
  }
  return out;
}

backup_doctor::support::ProcessResult run_tool(const std::vector<std::string>& argv) {
  backup_doctor::support::ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  options.max_output = 64u << 20;
  options.env["LC_ALL"] = "C.UTF-8";
  auto r = backup_doctor::support::run_process(argv, options);
  if (!r.started) throw std::runtime_error("cannot run " + argv[0] + ": " + r.start_error);
  return r;
}

struct Truth {
  bool compressor_ok = true;
  int tar_exit = 0;
  size_t listed = 0;
  bool partial_block = false;
  bool damaged() const { return !compressor_ok || tar_exit != 0 || partial_block; }
};

// `intact_entries`: what tar lists from the intact archive (0 for the intact one itself).
Truth gnu_truth(const fs::path& file, const std::string& compression, size_t intact_entries) {
  Truth t;
  if (compression != "none") {
    auto r = run_tool({compression, "-t", "-q", file.string()});
    t.compressor_ok = r.exit_code == 0 || (compression == "gzip" && r.exit_code == 2);
  }
  auto r = run_tool({"tar", "-tf", file.string()});
  t.tar_exit = r.timed_out || r.signal ? -1 : r.exit_code;
  t.listed = static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  // Cut inside a block before the last entry; a cut in the zeros after it loses nothing.
  t.partial_block =
      compression == "none" && fs::file_size(file) % 512 != 0 && t.listed < intact_entries;
  return t;
}

struct Ours {
  Status status = Status::ok;
  std::string kind;  // of details.damage; "misnamed" when refused from its first bytes
  size_t listed = 0;
  bool lower_bound = false;
  std::string summary;
  // details.damage.first_symptom's compressed range, when it has one
  std::optional<std::pair<uint64_t, uint64_t>> symptom_range;
};

Ours our_verdict(const fs::path& file) {
  auto r = verify(file, {{"min_entries", 0}});
  Ours o;
  o.status = r.status;
  o.summary = r.summary;
  if (r.details.contains("named_compression")) {
    o.kind = "misnamed";
  } else if (r.details.contains("damage")) {
    const auto& d = r.details["damage"];
    o.kind = d["kind"];
    o.listed =
        d.value("recoverable_entries", size_t{0}) + (d.contains("damaged_entry_size") ? 1 : 0);
    o.lower_bound = d.value("recoverable_is_lower_bound", false);
    if (d.contains("first_symptom") && d["first_symptom"].contains("compressed_range_start"))
      o.symptom_range = {d["first_symptom"]["compressed_range_start"].get<uint64_t>(),
                         d["first_symptom"]["compressed_offset"].get<uint64_t>()};
  } else {
    o.listed = r.details.value("entries", size_t{0});
  }
  return o;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
    default:
      return "error";
  }
}

bool compression_kind(const std::string& kind) {
  return kind == "truncated" || kind == "corrupt_data" || kind == "checksum_mismatch" ||
         kind == "bad_header" || kind == "misnamed";
}

struct Case {
  const Archive* archive;
  std::string damage;  // intact, cut, flip
  uint64_t position = 0;
  int bit = 0;
  std::string describe() const {
    std::string s = archive->name + " " + damage;
    if (damage == "cut") s += " to " + std::to_string(position) + " bytes";
    if (damage == "flip")
      s += " of bit " + std::to_string(bit) + " at byte " + std::to_string(position);
    return s + " (seed " + std::to_string(kSeed) + ")";
  }
};

// What is wrong with our verdict against GNU's, or empty when it is fair.
std::string judge(const Case& c, const Truth& t, const Ours& o) {
  if (c.damage == "intact") {
    if (o.status != Status::ok) return "an intact archive is not ok";
    if (o.listed != t.listed) return "entries differ from tar -t's";
    return "";
  }
  if (!t.damaged()) {
    if (o.status == Status::fail) return "GNU finds nothing wrong, we fail it";
    if (o.status == Status::ok && o.listed != t.listed) return "entries differ from tar -t's";
    return "";
  }
  if (o.status == Status::ok) return "damaged, yet ok";
  if (!t.compressor_ok && !compression_kind(o.kind))
    return "the compressor's test fails, we name tar-level damage";
  if (t.compressor_ok && compression_kind(o.kind) && c.archive->compression != "none")
    return "the compression is intact, we name compression damage";
  if (o.listed > t.listed) return "we count more entries than tar -t lists";
  if (o.listed < t.listed && !o.lower_bound) return "we count fewer entries than tar -t lists";
  return "";
}

std::vector<Case> make_cases(const std::vector<Archive>& archives) {
  std::mt19937_64 rng(kSeed);
  std::vector<Case> cases;
  for (const auto& a : archives) {
    uint64_t size = fs::file_size(a.path);
    cases.push_back({&a, "intact"});
    for (int i = 0; i < kCuts; ++i) cases.push_back({&a, "cut", 1 + rng() % (size - 1)});
    for (int i = 0; i < kFlips; ++i) {
      uint64_t at = rng() % size;
      cases.push_back({&a, "flip", at, static_cast<int>(rng() % 8)});
    }
  }
  return cases;
}

fs::path damaged_copy(const Case& c, const fs::path& dir) {
  if (c.damage == "intact") return c.archive->path;
  fs::path out = dir / ("case-" + c.archive->name);
  if (c.damage == "cut")
    truncate_copy(c.archive->path, out, c.position);
  else
    flip_bit(c.archive->path, out, c.position, c.bit);
  // Old, as a damaged backup is: a file just cut short may still be growing, and gets a moment
  // to (see scan.cpp), which would make up most of the test's time.
  set_mtime(out, 1700000000);
  return out;
}

// The mismatch, for people: the case and both sides' verdicts. With BD_MATRIX_KEEP=<dir> set,
// the damaged file and its intact archive are copied there to look at.
std::string report(const Case& c, const fs::path& file, const Truth& t, const Ours& o,
                   const std::string& wrong) {
  std::ostringstream m;
  m << c.describe() << ": " << wrong << ". GNU: compressor test "
    << (t.compressor_ok ? "ok" : "fails") << ", tar -t exit " << t.tar_exit << ", " << t.listed
    << " listed. Ours: " << status_name(o.status) << " " << o.kind << ", " << o.listed
    << (o.lower_bound ? " (lower bound)" : "") << ": " << o.summary;
  if (const char* keep = std::getenv("BD_MATRIX_KEEP"); keep && *keep) {
    fs::create_directories(keep);
    auto copy = [&](const fs::path& from, const std::string& name) {
      fs::copy_file(from, fs::path(keep) / name, fs::copy_options::overwrite_existing);
    };
    copy(c.archive->path, c.archive->name);
    copy(file, c.archive->name + "." + c.damage + "-" + std::to_string(c.position));
  }
  return m.str();
}

// How far below tar's counts ours are where we say they are lower bounds.
struct Gaps {
  size_t cases = 0, largest = 0;
  std::string list;
  void add(const Case& c, const Truth& t, const Ours& o) {
    if (!t.damaged() || !o.lower_bound || o.listed >= t.listed) return;
    ++cases;
    largest = std::max(largest, t.listed - o.listed);
    list +=
        "\n  " + c.describe() + ": " + std::to_string(o.listed) + " of " + std::to_string(t.listed);
  }
};

}  // namespace

TEST_CASE("verdict matrix: random cuts and flips in gzip, zstd, xz, bzip2 and plain tar") {
  auto started = std::chrono::steady_clock::now();
  TempDir dir("bd-archive-matrix");
  std::mt19937_64 tree_rng(kSeed);
  add_regular_files(dir / "src", tree_rng);
  add_special_entries(dir / "src");
  set_times(dir / "src");
  auto archives = make_archives(dir);
  auto cases = make_cases(archives);

  size_t damaged = 0, undetectable = 0, symptoms = 0, symptom_misses = 0;
  Gaps gaps;
  std::map<std::string, size_t> per_compression;
  std::map<const Archive*, size_t> intact_entries;  // each archive's intact case comes first
  for (const Case& c : cases) {
    fs::path file = damaged_copy(c, dir.path());
    Truth t = gnu_truth(file, c.archive->compression, intact_entries[c.archive]);
    if (c.damage == "intact") intact_entries[c.archive] = t.listed;
    Ours o = our_verdict(file);
    ++per_compression[c.archive->compression];
    if (c.damage != "intact") ++(t.damaged() ? damaged : undetectable);
    gaps.add(c, t, o);
    if (c.damage == "flip" && o.symptom_range) {
      ++symptoms;
      symptom_misses += c.position < o.symptom_range->first || c.position > o.symptom_range->second;
    }
    if (std::string wrong = judge(c, t, o); !wrong.empty())
      FAIL_CHECK(report(c, file, t, o, wrong));
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(cases.size() << " cases (" << damaged << " damaged by GNU's account, " << undetectable
                       << " undetectable by GNU too) in " << seconds << " s; " << gaps.cases
                       << " counts below tar's where we say lower bound, by up to " << gaps.largest
                       << " entries; " << symptom_misses << " of " << symptoms
                       << " first-symptom ranges miss the flip" << gaps.list);
  CHECK(cases.size() == 200);
  for (const auto& [compression, n] : per_compression) CHECK(n == 40);
}
