// archive.verify against archives made by the real tools, healthy and damaged in the ways
// backups get damaged. Expected figures come from GNU tar's block listing and gzip's decoding.
#include "fixtures.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <atomic>
#include <thread>

using namespace archive_test;

namespace {

// A tree, its plain tar and GNU tar's listing of it.
struct Fixture {
  TempDir dir{"bd-archive-verify"};
  fs::path plain;
  std::vector<TarMember> members;
  uint64_t file_bytes = 0;
  int files = 0;

  explicit Fixture(int n = 24) {
    files = make_tree(dir / "src", n);
    plain = dir / "plain.tar";
    tool({"tar", "-cf", plain.string(), "-C", dir.path().string(), "src"});
    members = list_tar(plain);
    for (const auto& m : members) file_bytes += m.size;
  }
  fs::path gzip(const std::string& name) const {
    sh("gzip -c plain.tar > " + name, dir.path().string());
    return dir / name;
  }
  // Complete entries before uncompressed offset `decoded`.
  size_t complete_before(uint64_t decoded) const {
    size_t n = 0;
    for (const auto& m : members)
      if (m.end() <= decoded) ++n;
    return n;
  }
  uint64_t bytes_of_first(size_t n) const {
    uint64_t b = 0;
    for (size_t i = 0; i < n; ++i) b += members[i].size;
    return b;
  }
};

}  // namespace

TEST_CASE("healthy archives from tar, gzip, pigz, zstd, xz and bzip2 verify ok") {
  Fixture f;
  struct Case {
    std::string name, command, compression;
  } cases[] = {
      {"a.tar.gz", "tar -czf a.tar.gz src", "gzip"},
      {"b.tar.gz", "tar -cf - src | pigz -p 2 -b 64 > b.tar.gz", "gzip"},
      {"c.tar.zst", "tar -cf - src | zstd -q -c > c.tar.zst", "zstd"},
      {"d.tar.xz", "tar -cJf d.tar.xz src", "xz"},
      {"e.tar.bz2", "tar -cjf e.tar.bz2 src", "bzip2"},
      {"f.tar", "tar -cf f.tar src", "none"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    sh(c.command, f.dir.path().string());
    auto r = verify(f.dir / c.name);
    CHECK(r.status == Status::ok);
    CHECK(r.details["compression"] == c.compression);
    CHECK(r.details["entries"] == f.members.size());
    CHECK(r.details["entries_by_type"]["file"] == f.files);
    CHECK(r.details["content_bytes"] == f.file_bytes);
    CHECK(r.details["end_of_archive_marker"] == true);
    CHECK(r.details["checksum"]["source"] == "none");
    CHECK(r.details["sha256"].get<std::string>().size() == 64);
    CHECK(r.metric("archive_entries")->value == static_cast<double>(f.members.size()));
    CHECK(r.metric("archive_damaged")->value == 0);
  }
}

TEST_CASE("the archive is opened read-only and left exactly as it was") {
  Fixture f;
  auto gz = f.gzip("x.tar.gz");
  ::chmod(gz.c_str(), 0440);
  set_mtime(gz, 1700000000);
  auto damaged = f.dir / "y.tar.gz";
  truncate_copy(gz, damaged, fs::file_size(gz) / 2);
  ::chmod(damaged.c_str(), 0400);
  set_mtime(damaged, 1700000100);
  for (const auto& p : {gz, damaged}) {
    Snapshot before = snapshot(p);
    verify(p);
    run("archive.compare_source", {{"path", p.string()}, {"source", (f.dir / "src").string()}});
    run("archive.restore_space", {{"path", p.string()}, {"restore_target", f.dir.path().string()}});
    CHECK(snapshot(p) == before);
  }
}

TEST_CASE("a gzip archive truncated at several offsets: offset, last good entry, recoverable") {
  Fixture f(30);
  auto gz = f.gzip("full.tar.gz");
  uint64_t size = fs::file_size(gz);
  for (double fraction : {0.05, 0.3, 0.55, 0.8, 0.97}) {
    // Choose a cut whose decoded prefix is not right at an entry boundary, so that the expected
    // count does not depend on how many bytes of a partial deflate block a decoder emits.
    uint64_t cut = static_cast<uint64_t>(static_cast<double>(size) * fraction);
    fs::path t = f.dir / ("cut" + std::to_string(cut) + ".tar.gz");
    uint64_t decoded = 0;
    for (int attempt = 0; attempt < 20; ++attempt, cut += 997) {
      truncate_copy(gz, t, cut);
      decoded = gzip_decodable(t);
      bool near_boundary = false;
      for (const auto& m : f.members)
        if (decoded + 2048 > m.end() && decoded < m.end() + 2048) near_boundary = true;
      if (!near_boundary) break;
    }
    CAPTURE(cut);
    CAPTURE(decoded);
    size_t expected = f.complete_before(decoded);
    auto r = verify(t);
    CHECK(r.status == Status::fail);
    auto& d = r.details["damage"];
    CHECK(d["kind"] == "truncated");
    CHECK(d["compressed_offset"] == fs::file_size(t));
    CHECK(d["recoverable_entries"] == expected);
    CHECK(d["entries_before_damage"] == expected);
    CHECK(d["recoverable_bytes"] == f.bytes_of_first(expected));
    CHECK(d["last_good_entry"] == (expected ? f.members[expected - 1].name : std::string()));
    CHECK(d["damaged_entry"] == f.members[expected].name);
    CHECK(d["uncompressed_offset"].get<uint64_t>() + 64 >= decoded);
    CHECK(d["uncompressed_offset"].get<uint64_t>() <= decoded + 64);
    CHECK(r.metric("archive_recoverable_entries")->value == static_cast<double>(expected));
    CHECK(r.summary.find("truncated") != std::string::npos);
    CHECK(r.remediation.find("tar -xzf") != std::string::npos);
  }
}

TEST_CASE("truncated zstd, xz, bzip2 and plain tar archives") {
  Fixture f(30);
  sh("zstd -q -c plain.tar > a.tar.zst && xz -c plain.tar > a.tar.xz && bzip2 -c plain.tar > "
     "a.tar.bz2",
     f.dir.path().string());
  for (std::string name : {"a.tar.zst", "a.tar.xz", "a.tar.bz2", "plain.tar"}) {
    CAPTURE(name);
    auto t = f.dir / ("cut-" + name);
    truncate_copy(f.dir / name, t, fs::file_size(f.dir / name) * 6 / 10 + 123);
    auto r = verify(t);
    CHECK(r.status == Status::fail);
    CHECK(r.details["damage"]["kind"] == "truncated");
    CHECK(r.details["damage"]["compressed_offset"] == fs::file_size(t));
    // Here the count must lie between nothing and what the full decoded prefix holds, and name
    // a real entry; recoverable_test.cpp checks it exactly against tar and the decompressors.
    auto n = r.details["damage"]["recoverable_entries"].get<size_t>();
    CHECK(n > 0);
    CHECK(n < f.members.size());
    CHECK(r.details["damage"]["last_good_entry"] == f.members[n - 1].name);
    // Cut inside a header there is no entry name yet; inside data it is the next entry.
    if (r.details["damage"].contains("damaged_entry"))
      CHECK(r.details["damage"]["damaged_entry"] == f.members[n].name);
  }
  // Without compression the expectation is exact.
  auto t = f.dir / "cut-exact.tar";
  uint64_t cut = f.members[10].header_offset() + 512 + 100;
  truncate_copy(f.plain, t, cut);
  auto r = verify(t);
  CHECK(r.details["damage"]["recoverable_entries"] == 10);
  CHECK(r.details["damage"]["damaged_entry"] == f.members[10].name);
  CHECK(r.details["damage"]["damaged_entry_bytes_available"] == 100);
}

TEST_CASE("a flipped bit in the compressed data is found inside the damaged member") {
  Fixture f(30);
  auto gz = f.gzip("x.tar.gz");
  uint64_t size = fs::file_size(gz);
  for (uint64_t offset : {size / 10, size / 3, size / 2, size - 100}) {
    CAPTURE(offset);
    auto bad = f.dir / ("flip" + std::to_string(offset) + ".tar.gz");
    flip_bit(gz, bad, offset);
    auto r = verify(bad);
    CHECK(r.status == Status::fail);
    auto& d = r.details["damage"];
    std::string kind = d["kind"];
    CHECK((kind == "corrupt_data" || kind == "checksum_mismatch"));
    CHECK(d["compressed_offset"].get<uint64_t>() >= offset);
    CHECK(d["gzip_member_offset"] == 0);
    CHECK(d["content_verified"] == false);
    CHECK(d["verified_entries"] == 0);  // one member: nothing is covered by an intact CRC
  }
}

TEST_CASE("a flipped bit in one member of a pigz multi-member archive spares the members before") {
  Fixture f(30);
  // pigz of three slices of the tar stream, concatenated: three gzip members.
  uint64_t total = fs::file_size(f.plain);
  uint64_t slice = (total / 3 + 511) / 512 * 512;
  sh("split -b " + std::to_string(slice) +
         " plain.tar part. && rm -f m.tar.gz && "
         "for p in part.*; do pigz -c $p >> m.tar.gz; done && rm part.*",
     f.dir.path().string());
  auto gz = f.dir / "m.tar.gz";
  auto healthy = verify(gz);
  REQUIRE(healthy.status == Status::ok);
  CHECK(healthy.details["gzip_members"] == 3);
  CHECK(healthy.details["entries"] == f.members.size());

  // Where the third member starts in the compressed file: the size of the first two.
  sh("split -b " + std::to_string(slice) +
         " plain.tar part. && pigz -c part.aa > 1.gz && "
         "pigz -c part.ab > 2.gz && rm part.*",
     f.dir.path().string());
  uint64_t third = fs::file_size(f.dir / "1.gz") + fs::file_size(f.dir / "2.gz");
  auto bad = f.dir / "m-bad.tar.gz";
  flip_bit(gz, bad, third + (fs::file_size(gz) - third) / 2);
  auto r = verify(bad);
  CHECK(r.status == Status::fail);
  auto& d = r.details["damage"];
  CHECK(d["gzip_member_index"] == 2);
  CHECK(d["gzip_member_offset"] == third);
  CHECK(d["gzip_member_uncompressed_offset"] == 2 * slice);
  CHECK(d["verified_entries"] == f.complete_before(2 * slice));
  CHECK(d["verified_entries"].get<size_t>() > 0);
}

TEST_CASE("a corrupted tar header checksum: entries before and after it are recoverable") {
  Fixture f(30);
  size_t k = 12;
  std::string data = read_file(f.plain);
  // The checksum field is at byte 148 of the header.
  data.at(f.members[k].header_offset() + 148) ^= 0x01;
  write_file(f.dir / "bad.tar", data);
  sh("gzip -c bad.tar > bad.tar.gz", f.dir.path().string());
  auto r = verify(f.dir / "bad.tar.gz");
  CHECK(r.status == Status::fail);
  auto& d = r.details["damage"];
  CHECK(d["kind"] == "tar_header");
  CHECK(d["uncompressed_offset"] == f.members[k].header_offset());
  CHECK(d["compressed_range_start"].get<uint64_t>() <= d["compressed_offset"].get<uint64_t>());
  CHECK(d["entries_before_damage"] == k);
  CHECK(d["last_good_entry"] == f.members[k - 1].name);
  CHECK(d["entries_after_damage"] == f.members.size() - k - 1);
  CHECK(d["recoverable_entries"] == f.members.size() - 1);
  CHECK(d["recoverable_bytes"] == f.file_bytes - f.members[k].size);
  // GNU tar agrees on what is still there.
  auto listed = tool({"tar", "-tzf", (f.dir / "bad.tar.gz").string()}, {}, true);
  CHECK(static_cast<size_t>(std::count(listed.begin(), listed.end(), '\n')) ==
        f.members.size() - 1);
}

TEST_CASE("a damaged first tar header") {
  Fixture f;
  std::string data = read_file(f.plain);
  data.at(148) ^= 0x01;
  write_file(f.dir / "bad0.tar", data);
  sh("gzip -c bad0.tar > bad0.tar.gz", f.dir.path().string());
  // GNU tar skips the damaged header ("Skipping to next header") and lists the rest.
  std::string listed =
      tool({"sh", "-c", "tar -tf bad0.tar 2>/dev/null | wc -l"}, f.dir.path().string());
  size_t gnu_entries = std::stoul(listed);
  CHECK(gnu_entries == f.members.size() - 1);
  for (const char* name : {"bad0.tar.gz", "bad0.tar"}) {
    CAPTURE(name);
    auto r = verify(f.dir / name);
    CHECK(r.status == Status::fail);
    CHECK(r.details["damage"]["kind"] == "tar_header");
    CHECK(r.details["damage"]["uncompressed_offset"] == 0);
    CHECK(r.details["damage"]["entries_after_damage"] == gnu_entries);
    CHECK(r.details["damage"]["recoverable_entries"] == gnu_entries);
    CHECK(r.summary.find(std::to_string(gnu_entries) + " after it are recoverable") !=
          std::string::npos);
  }
  auto plain = verify(f.dir / "bad0.tar");
  CHECK(plain.details["damage"]["compressed_offset"] == 148);  // the damaged checksum field
  CHECK(verify(f.dir / "bad0.tar.gz").remediation.find("tar -xzf") != std::string::npos);
}

TEST_CASE("gzip intact but the tar stream inside cut short") {
  Fixture f;
  uint64_t cut = f.members[8].header_offset() + 512 + 700;
  truncate_copy(f.plain, f.dir / "cut.tar", cut);
  sh("gzip -c cut.tar > cut.tar.gz", f.dir.path().string());
  auto r = verify(f.dir / "cut.tar.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "tar_truncated");
  CHECK(r.details["damage"]["recoverable_entries"] == 8);
  CHECK(r.details["damage"]["damaged_entry"] == f.members[8].name);
  CHECK(r.details["damage"]["damaged_entry_bytes_available"] == 700);
  CHECK(r.remediation.find("pipefail") != std::string::npos);
}

TEST_CASE("sidecar checksums: match, binary marker, full path, mismatch, stale") {
  Fixture f;
  auto gz = f.gzip("latest.tar.gz");
  std::string dir = f.dir.path().string();

  sh("sha256sum latest.tar.gz > latest.tar.gz.sha256", dir);
  auto r = verify(gz);
  CHECK(r.status == Status::ok);
  CHECK(r.details["checksum"]["match"] == true);
  CHECK(r.details["checksum"]["binary_marker"] == false);

  sh("sha256sum -b latest.tar.gz > latest.tar.gz.sha256", dir);
  CHECK(read_file(f.dir / "latest.tar.gz.sha256").find(" *latest.tar.gz") != std::string::npos);
  r = verify(gz);
  CHECK(r.status == Status::ok);
  CHECK(r.details["checksum"]["match"] == true);
  CHECK(r.details["checksum"]["binary_marker"] == true);

  // As the guide writes it: the full path inside the checksum file.
  sh("sha256sum " + gz.string() + " > latest.tar.gz.sha256", dir);
  r = verify(gz);
  CHECK(r.status == Status::ok);
  CHECK(r.details["checksum"]["name_matches"] == true);

  // An explicit digest parameter.
  std::string digest = tool({"sha256sum", gz.string()}).substr(0, 64);
  r = verify(gz, {{"sha256", digest}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["checksum"]["source"] == "param");

  // Mismatch: the checksum of another file, written after the archive.
  sh("gzip -c plain.tar | head -c 1000 > other && sha256sum other | sed 's/other/latest.tar.gz/' > "
     "latest.tar.gz.sha256",
     dir);
  r = verify(gz);
  CHECK(r.status == Status::fail);
  CHECK(r.details["checksum"]["match"] == false);
  CHECK(!r.details.contains("damage"));
  CHECK(r.summary.find("does not match") != std::string::npos);
  CHECK(r.metric("archive_checksum_match")->value == 0);

  // Stale: the checksum file is older than the archive (rewritten after it was checksummed).
  set_mtime(f.dir / "latest.tar.gz.sha256", 1600000000);
  r = verify(gz);
  CHECK(r.status == Status::fail);
  CHECK(r.remediation.find("older than the archive") != std::string::npos);

  // A checksum file with no line for this archive.
  write_file(f.dir / "latest.tar.gz.sha256",
             std::string(64, 'a') + "  one.tar.gz\n" + std::string(64, 'b') + "  two.tar.gz\n");
  r = verify(gz);
  CHECK(r.status == Status::fail);
  CHECK(r.details["checksum"]["problem"].get<std::string>().find("none for") != std::string::npos);

  // require_checksum without any checksum.
  fs::remove(f.dir / "latest.tar.gz.sha256");
  CHECK(verify(gz).status == Status::ok);
  CHECK(verify(gz, {{"require_checksum", true}}).status == Status::fail);
}

TEST_CASE("a damaged archive that still matches its checksum was written broken") {
  Fixture f(30);
  auto gz = f.gzip("x.tar.gz");
  auto t = f.dir / "t.tar.gz";
  truncate_copy(gz, t, fs::file_size(gz) / 2);
  sh("sha256sum t.tar.gz > t.tar.gz.sha256", f.dir.path().string());
  auto r = verify(t);
  CHECK(r.status == Status::fail);
  CHECK(r.details["checksum"]["match"] == true);
  CHECK(r.remediation.find("wrote the file short") != std::string::npos);
  // ... and one that no longer matches broke afterwards.
  sh("sha256sum x.tar.gz | sed 's/x.tar.gz/t.tar.gz/' > t.tar.gz.sha256", f.dir.path().string());
  r = verify(t);
  CHECK(r.details["checksum"]["match"] == false);
  CHECK(r.remediation.find("lost its end afterwards") != std::string::npos);
}

TEST_CASE("the newest archive matching a glob in a directory is verified") {
  Fixture f;
  std::string dir = f.dir.path().string();
  fs::create_directories(f.dir / "backups");
  sh("tar -czf backups/files_1.tar.gz src && tar -czf backups/files_2.tar.gz src && "
     "tar -czf backups/files_3.tar.gz src && touch backups/files_4.tar.gz.tmp && "
     "sha256sum backups/files_2.tar.gz > backups/files_2.tar.gz.sha256 && echo x > "
     "backups/notes.txt",
     dir);
  set_mtime(f.dir / "backups/files_1.tar.gz", 1700000000);
  set_mtime(f.dir / "backups/files_2.tar.gz", 1700000300);
  set_mtime(f.dir / "backups/files_3.tar.gz", 1700000200);
  auto r = run("archive.verify",
               {{"path", (f.dir / "backups").string()}, {"pattern", "files_*.tar.gz"}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["archive"] == (f.dir / "backups/files_2.tar.gz").string());
  CHECK(r.details["chosen_from"]["candidates"] == 3);
  CHECK(r.details["checksum"]["match"] == true);
  // The same with the glob in the path.
  r = run("archive.verify", {{"path", (f.dir / "backups/*.tar.gz").string()}});
  CHECK(r.details["archive"] == (f.dir / "backups/files_2.tar.gz").string());
  // Nothing matches.
  r = run("archive.verify", {{"path", (f.dir / "backups").string()}, {"pattern", "db_*.sql.gz"}});
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("no archive") != std::string::npos);
  r = run("archive.verify", {{"path", (f.dir / "nowhere/x.tar.gz").string()}});
  CHECK(r.status == Status::fail);
}

TEST_CASE("softer findings: no end marker, appended archive, trailing garbage, empty, raw dumps") {
  Fixture f;
  std::string dir = f.dir.path().string();
  // Cut exactly at an entry boundary: every entry complete, no end-of-archive block.
  truncate_copy(f.plain, f.dir / "edge.tar", f.members[6].header_offset());
  auto r = verify(f.dir / "edge.tar");
  CHECK(r.status == Status::warn);
  CHECK(r.details["end_of_archive_marker"] == false);
  CHECK(r.details["entries"] == 6);

  sh("cat plain.tar plain.tar | gzip -c > twice.tar.gz", dir);
  r = verify(f.dir / "twice.tar.gz");
  CHECK(r.status == Status::warn);
  CHECK(r.details["entries"] == f.members.size());
  CHECK(r.summary.find("end-of-archive marker") != std::string::npos);

  sh("gzip -c plain.tar > junk.tar.gz && printf 'garbage after the member' >> junk.tar.gz", dir);
  r = verify(f.dir / "junk.tar.gz");
  CHECK(r.status == Status::warn);
  CHECK(r.details["trailing_garbage_bytes"] == 24);

  sh("gzip -c plain.tar > padded.tar.gz && head -c 4096 /dev/zero >> padded.tar.gz", dir);
  r = verify(f.dir / "padded.tar.gz");
  CHECK(r.status == Status::ok);
  CHECK(r.details["trailing_zero_bytes"] == 4096);

  write_file(f.dir / "empty.tar.gz", "");
  r = verify(f.dir / "empty.tar.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "empty");

  sh("tar -czf none.tar.gz --files-from /dev/null", dir);
  r = verify(f.dir / "none.tar.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("holds only 0 entries") != std::string::npos);

  // A database dump: one gzip stream, no tar inside.
  std::string sql = text_data(300000, 3);
  write_file(f.dir / "db.sql", sql);
  sh("gzip -c db.sql > db.sql.gz && sha256sum db.sql.gz > db.sql.gz.sha256", dir);
  r = verify(f.dir / "db.sql.gz");
  CHECK(r.status == Status::ok);
  CHECK(r.details["uncompressed_bytes"] == sql.size());
  CHECK(r.details["checksum"]["match"] == true);
  truncate_copy(f.dir / "db.sql.gz", f.dir / "db-cut.sql.gz", 20000);
  r = verify(f.dir / "db-cut.sql.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "truncated");
}

TEST_CASE("the zlib engine gives the same verdicts as ISA-L") {
  Fixture f(30);
  auto gz = f.gzip("x.tar.gz");
  truncate_copy(gz, f.dir / "t.tar.gz", fs::file_size(gz) / 2);
  auto a = verify(gz, {{"gzip_engine", "libarchive"}});
  CHECK(a.status == Status::ok);
  CHECK(a.details["entries"] == f.members.size());
  CHECK(a.details["sha256"] == verify(gz).details["sha256"]);
  auto b = verify(f.dir / "t.tar.gz", {{"gzip_engine", "libarchive"}});
  CHECK(b.status == Status::fail);
  CHECK(b.details["damage"]["kind"] == "truncated");
}

TEST_CASE("only regular files are candidates: a newer link or FIFO is never chosen or opened") {
  Fixture f;
  std::string dir = f.dir.path().string();
  fs::create_directories(f.dir / "backups");
  sh("tar -czf backups/files_1.tar.gz src && mkfifo backups/files_3.tar.gz", dir);
  fs::create_symlink(f.plain, f.dir / "backups/files_2.tar.gz");  // even root's own link
  set_mtime(f.dir / "backups/files_1.tar.gz", 1700000000);
  auto r = run("archive.verify", {{"path", (f.dir / "backups").string()}});
  CHECK(r.details["archive"] == (f.dir / "backups/files_1.tar.gz").string());
  CHECK(r.details["chosen_from"]["candidates"] == 1);
  CHECK(r.details["chosen_from"]["not_regular_files"].size() == 2);
  CHECK(r.status == Status::warn);  // the FIFO is newer than the archive verified
  CHECK(r.summary.find("FIFO") != std::string::npos);
  CHECK(r.remediation.find("files_3.tar.gz") != std::string::npos);

  // Given directly, the link and the FIFO fail at once, naming what they are.
  auto link = run("archive.verify", {{"path", (f.dir / "backups/files_2.tar.gz").string()}});
  CHECK(link.status == Status::fail);
  CHECK(link.summary.find("symbolic link to " + f.plain.string()) != std::string::npos);
  CHECK(link.remediation.find("pattern") != std::string::npos);
  auto fifo = run("archive.verify", {{"path", (f.dir / "backups/files_3.tar.gz").string()}});
  CHECK(fifo.status == Status::fail);
  CHECK(fifo.summary.find("FIFO") != std::string::npos);
  CHECK(fifo.details["type"] == "FIFO (named pipe)");

  // Only links and FIFOs match: nothing to verify, and the summary says why.
  auto none = run("archive.verify",
                  {{"path", (f.dir / "backups").string()}, {"pattern", "files_[23].tar.gz"}});
  CHECK(none.status == Status::fail);
  CHECK(none.summary.find("not considered") != std::string::npos);
}

TEST_CASE("a checksum file that is a link is not read, and not suggested to be written through") {
  Fixture f;
  auto archive = f.gzip("backup.tar.gz");
  sh("sha256sum backup.tar.gz > real.sha256", f.dir.path().string());
  fs::create_symlink(f.dir / "real.sha256", f.dir / "backup.tar.gz.sha256");
  auto r = run("archive.verify", {{"path", archive.string()}});
  CHECK(r.status == Status::fail);
  CHECK(r.summary.find("checksum file " + (f.dir / "backup.tar.gz.sha256").string() +
                       " is a symbolic link") != std::string::npos);
  CHECK(r.details["checksum"]["problem"].get<std::string>().find("symbolic link") !=
        std::string::npos);
  CHECK(r.remediation.find("remove it") != std::string::npos);
  CHECK(r.remediation.find("Once it is gone") != std::string::npos);
}

TEST_CASE(
    "a file named as compressed that is not is never intact, and is refused from its first bytes") {
  TempDir dir("bd-archive-misnamed");
  std::string d = dir.path().string();
  std::string sql = "CREATE TABLE bookings (id int);\nINSERT INTO bookings VALUES (1);\n";
  struct Case {
    std::string name, content, looks_like;
  } cases[] = {
      {"random.sql.gz", noise_data(200000, 7), "data of no format we know"},
      {"photo.sql.gz",
       std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", 13) + noise_data(50000, 8),
       "a JPEG image"},
      {"plain.sql.gz", sql, "text, not compressed data"},
      {"zeros.tar.gz", std::string(1 << 20, '\0'), "zero bytes only"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    write_file(dir / c.name, c.content);
    auto r = verify(dir / c.name, {{"min_entries", 0}});
    CHECK(r.status == Status::fail);
    CHECK(r.summary.find("is named as gzip but is not gzip") != std::string::npos);
    CHECK(r.details["looks_like"].get<std::string>().find(c.looks_like) != std::string::npos);
    CHECK(r.details["bytes_read"].get<size_t>() <= 4096);  // decided before reading the rest
    CHECK(r.remediation.find("file ") != std::string::npos);
  }

  // A real gzip'd dump with one bit of its magic flipped: gzip -t says "not in gzip format".
  write_file(dir / "db.sql", text_data(100000, 5));
  sh("gzip -c db.sql > db.sql.gz", d);
  flip_bit(dir / "db.sql.gz", dir / "flipped.sql.gz", 1, 0);
  CHECK(std::system(("gzip -t " + (dir / "flipped.sql.gz").string() + " 2>/dev/null").c_str()) !=
        0);
  auto r = verify(dir / "flipped.sql.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["named_compression"] == "gzip");
  CHECK(r.details["found_compression"].is_null());

  // Another compression under a .gz name: named, and what it really is.
  sh("zstd -q -c db.sql > zstd-inside.sql.gz", d);
  r = verify(dir / "zstd-inside.sql.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["found_compression"] == "zstd");
  CHECK(r.remediation.find("Rename the file") != std::string::npos);
}

TEST_CASE("an uncompressed file that is not tar is never called intact: it has no integrity data") {
  TempDir dir("bd-archive-raw");
  std::string d = dir.path().string();
  write_file(dir / "random.bin", noise_data(100000, 9));
  auto r = verify(dir / "random.bin", {{"format", "raw"}});
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("cannot be verified") != std::string::npos);
  CHECK(r.details["integrity"] == "none");
  CHECK(r.remediation.find("sha256sum") != std::string::npos);

  // With a checksum taken by sha256sum, the checksum is what vouches for it.
  sh("sha256sum random.bin > random.bin.sha256", d);
  r = verify(dir / "random.bin", {{"format", "raw"}});
  CHECK(r.status == Status::ok);
  CHECK(r.details["integrity"] == "checksum");
  CHECK(r.summary.find("only integrity information") != std::string::npos);
}

TEST_CASE("non-ASCII names in pax headers are names, whatever the locale") {
  TempDir dir("bd-archive-pax");
  std::string d = dir.path().string();
  write_file(dir / "src/caf\xc3\xa9-\xc3\xbc.txt", "hi\n");
  write_file(dir / "src/\xe6\x97\xa5\xe6\x9c\xac/notes.txt", "hello\n");
  sh("LC_ALL=C.UTF-8 tar --format=pax -czf pax.tar.gz src", d);
  REQUIRE(tool({"tar", "-tzf", (dir / "pax.tar.gz").string()}).find("caf") != std::string::npos);
  auto r = verify(dir / "pax.tar.gz");
  CHECK(r.status == Status::ok);
  CHECK(r.details["entries"] == 4);  // src/, the file, the directory and its file
  CHECK(r.details["warnings"].empty());
}

TEST_CASE("a checksum file written by openssl dgst is compared, not refused") {
  TempDir dir("bd-archive-openssl");
  std::string d = dir.path().string();
  write_file(dir / "db.sql", text_data(50000, 4));
  sh("gzip -c db.sql > db.sql.gz && openssl dgst -sha256 db.sql.gz > db.sql.gz.sha256", d);
  REQUIRE(read_file(dir / "db.sql.gz.sha256").find("(db.sql.gz)= ") != std::string::npos);
  auto r = verify(dir / "db.sql.gz");
  CHECK(r.status == Status::ok);
  CHECK(r.details["checksum"]["match"] == true);
}

namespace {
uint32_t crc32_of(std::string_view bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
// gzip -n's output with a header checksum (FHCRC) added, as RFC 1952 allows; `damage` flips
// bits of that checksum.
std::string with_fhcrc(const std::string& gz, bool damage) {
  std::string header = gz.substr(0, 10);
  header[3] = static_cast<char>(header[3] | 0x02);
  uint32_t crc16 = crc32_of(header) & 0xffffu;
  if (damage) crc16 ^= 0x0101u;
  return header + static_cast<char>(crc16 & 0xff) + static_cast<char>(crc16 >> 8) + gz.substr(10);
}
}  // namespace

TEST_CASE("a damaged gzip header checksum (FHCRC) is named as such, not as a CRC at the end") {
  TempDir dir("bd-archive-fhcrc");
  std::string d = dir.path().string();
  write_file(dir / "db.sql", text_data(20000, 6));
  sh("gzip -n -c db.sql > plain.sql.gz", d);
  write_file(dir / "good.sql.gz", with_fhcrc(read_file(dir / "plain.sql.gz"), false));
  write_file(dir / "bad.sql.gz", with_fhcrc(read_file(dir / "plain.sql.gz"), true));
  sh("gzip -t good.sql.gz", d);  // gzip itself accepts the header checksum...
  CHECK(std::system(("cd " + d + " && gzip -t bad.sql.gz 2>/dev/null").c_str()) !=
        0);  // ...and this
  CHECK(verify(dir / "good.sql.gz").status == Status::ok);
  auto r = verify(dir / "bad.sql.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "bad_header");
  CHECK(r.summary.find("header checksum (FHCRC)") != std::string::npos);
}

TEST_CASE("a dump still being written is said to be, not called truncated") {
  TempDir dir("bd-archive-growing");
  std::string d = dir.path().string();
  write_file(dir / "db.sql", text_data(8 << 20, 11));
  sh("gzip -c db.sql > full.sql.gz", d);
  const std::string full = read_file(dir / "full.sql.gz");
  const size_t start = 64 << 10;
  write_file(dir / "growing.sql.gz", full.substr(0, start));
  // The backup job, still writing: 4 KiB every 2 ms, far slower than the check reads.
  std::atomic<bool> stop{false};
  std::atomic<size_t> written{start};
  std::thread writer([&] {
    std::ofstream out(dir / "growing.sql.gz", std::ios::binary | std::ios::app);
    while (!stop && written < full.size()) {
      size_t n = std::min<size_t>(4096, full.size() - written);
      out.write(full.data() + written, static_cast<std::streamsize>(n));
      out.flush();
      written += n;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  while (written == start) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto r = verify(dir / "growing.sql.gz");
  stop = true;
  writer.join();
  REQUIRE(written < full.size());  // the check ended while the writer was still writing
  CHECK(r.status == Status::warn);
  CHECK(r.summary.find("is still being written") != std::string::npos);
  CHECK(r.details["changed_during_check"]["size_after"].get<uint64_t>() >
        r.details["changed_during_check"]["size_before"].get<uint64_t>());
  CHECK(r.remediation.find("fuser -v") != std::string::npos);

  // Once the writer is done, the same file verifies.
  write_file(dir / "done.sql.gz", full);
  CHECK(verify(dir / "done.sql.gz").status == Status::ok);
}

namespace {

// The ways a compressed file breaks, each with the damage it must be reported as: cut in the
// middle, cut just short of its end (the gzip CRC and length, the xz index and footer, the
// zstd checksum, the bzip2 end-of-stream marker), and for gzip a CRC that does not match.
std::vector<std::pair<fs::path, std::string>> damaged_copies(const fs::path& file, bool gzip) {
  std::vector<std::pair<fs::path, std::string>> out;
  std::string name = file.filename().string();
  uint64_t size = fs::file_size(file);
  fs::path half = file.parent_path() / ("half-" + name);
  truncate_copy(file, half, size / 2);
  out.emplace_back(half, "truncated");
  fs::path end = file.parent_path() / ("end-" + name);
  truncate_copy(file, end, size - 8);
  out.emplace_back(end, "truncated");
  if (gzip) {
    fs::path crc = file.parent_path() / ("crc-" + name);
    flip_bit(file, crc, size - 8, 0);
    out.emplace_back(crc, "checksum_mismatch");
  }
  // Not just written: a file cut short that was modified in the last seconds gets time to grow.
  for (const auto& [p, kind] : out) set_mtime(p, 1700000000);
  return out;
}

// Every damaged copy of `file` fails with the damage its compression layer found, in the
// default format (auto) as with format raw, which only looks at the compression; and the
// compression's own tool agrees it is damaged.
void check_damage_found(const fs::path& file, const std::string& test_command) {
  for (const auto& copy : damaged_copies(file, test_command == "gzip")) {
    // Not a structured binding: clang 14 cannot capture one (CAPTURE is a lambda).
    const fs::path& damaged = copy.first;
    const std::string& kind = copy.second;
    CAPTURE(damaged.filename().string());
    REQUIRE(std::system((test_command + " -t " + damaged.string() + " 2>/dev/null").c_str()) != 0);
    auto r = verify(damaged, {{"min_entries", 0}});
    CHECK(r.status == Status::fail);
    CHECK(r.details["damage"]["kind"] == kind);
    CHECK(r.metric("archive_damaged")->value == 1);
    auto raw = verify(damaged, {{"format", "raw"}});
    CHECK(raw.status == Status::fail);
    CHECK(raw.details["damage"]["kind"] == kind);
  }
}

// Lines of one word each, as CSV exports, JSON lines and base64 or hex dumps are: what
// libarchive's mtree reader takes for a file list.
std::string one_word_lines(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < size)
    out += std::to_string(rng() % 100000) + ",booking," + std::to_string(rng()) + "\n";
  out.resize(size);
  return out;
}

// A cpio (newc) or zip archive written by libarchive, as bsdcpio and bsdtar write them (neither
// tool is among the test tools scripts/setup installs).
std::string libarchive_written(int (*set_format)(struct archive*), int files) {
  struct archive* a = archive_write_new();
  REQUIRE(set_format(a) == ARCHIVE_OK);
  std::vector<char> buffer(8u << 20);
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buffer.data(), buffer.size(), &used) == ARCHIVE_OK);
  for (int i = 0; i < files; ++i) {
    std::string data = i % 2 ? text_data(4000 + 997 * i, i) : noise_data(3000 + 611 * i, i);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("data/file" + std::to_string(i)).c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a, data.data(), data.size()) ==
            static_cast<la_ssize_t>(data.size()));
    archive_entry_free(e);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

}  // namespace

TEST_CASE("a damaged compressed dump is never intact, whatever libarchive takes its content for") {
  TempDir dir("bd-archive-auto-dump");
  std::string d = dir.path().string();
  // The report that found this: 4 KiB of `base64 | gzip`, which libarchive read as an mtree
  // file list whose reader took the decoder's failure for the end of the list.
  sh("head -c 200000 /dev/urandom | base64 | gzip | head -c 4096 > t.sql.gz", d);
  REQUIRE(std::system(("gzip -t " + d + "/t.sql.gz 2>/dev/null").c_str()) != 0);
  auto r = verify(dir / "t.sql.gz");
  CHECK(r.status == Status::fail);
  CHECK(r.details["damage"]["kind"] == "truncated");
  CHECK(r.summary.find("is truncated") != std::string::npos);

  struct Content {
    std::string name, data;
  } contents[] = {
      {"lines-small.csv", one_word_lines(5000, 1)},
      {"lines-large.csv", one_word_lines(300000, 2)},
      {"dump-small.sql", "CREATE TABLE bookings (id int);\nINSERT INTO bookings VALUES (1);\n"},
      {"dump-large.sql", text_data(300000, 3)},
      {"random-small.bin", noise_data(5000, 4)},
      {"random-large.bin", noise_data(300000, 5)},
      {"empty", ""},
  };
  for (const auto& c : contents) {
    CAPTURE(c.name);
    write_file(dir / c.name, c.data);
    sh("gzip -c " + c.name + " > " + c.name + ".gz && base64 " + c.name + " | gzip > " + c.name +
           ".b64.gz && gzip -c " + c.name + " > " + c.name + ".junk.gz && printf junk >> " +
           c.name + ".junk.gz",
       d);
    for (std::string name : {c.name + ".gz", c.name + ".b64.gz"}) {
      CAPTURE(name);
      // Intact: a stream, neither an archive of one-line entries nor one failing to parse.
      auto intact = verify(dir / name);
      CHECK(intact.status == Status::ok);
      CHECK(intact.details["uncompressed_bytes"] ==
            (name == c.name + ".gz" ? c.data.size() : tool({"base64", c.name}, d).size()));
      CHECK(intact.details["warnings"].empty());
      CHECK(verify(dir / name, {{"format", "raw"}}).status == Status::ok);
      check_damage_found(dir / name, "gzip");
    }
    auto junk = verify(dir / (c.name + ".junk.gz"));
    CHECK(junk.status == Status::warn);
    CHECK(junk.details["trailing_garbage_bytes"] == 4);
  }
}

TEST_CASE("a damaged compression around an archive of any format is never intact") {
  Fixture f(12);
  std::string d = f.dir.path().string();
  write_file(f.dir / "cpio", libarchive_written(archive_write_set_format_cpio_newc, 12));
  write_file(f.dir / "zip", libarchive_written(archive_write_set_format_zip, 12));
  sh("ar rc ar src/dir0/blob0.bin src/dir1/sub/file1.log src/dir2/sub/blob2.bin 2>/dev/null &&"
     " cp plain.tar tar",
     d);
  for (std::string format : {"ar", "cpio", "zip", "tar"}) {
    for (std::string compression : {"gzip", "xz", "zstd", "bzip2"}) {
      std::string ext = compression == "gzip"   ? ".gz"
                        : compression == "xz"   ? ".xz"
                        : compression == "zstd" ? ".zst"
                                                : ".bz2";
      // Named as a dump (not .tar): the format is left to libarchive.
      std::string name = format + ".dump" + ext;
      CAPTURE(name);
      sh(compression + " -q -c " + format + " > " + name, d);
      auto intact = verify(f.dir / name);
      CHECK(intact.status == Status::ok);
      CHECK(intact.details["uncompressed_bytes"] == fs::file_size(f.dir / format));
      check_damage_found(f.dir / name, compression);
    }
  }

  // A tar archive under a dump's name is walked as tar, and its damage located as under its own.
  auto gz = f.gzip("backup.tar.gz");
  truncate_copy(gz, f.dir / "cut.tar.gz", fs::file_size(gz) / 2);
  truncate_copy(gz, f.dir / "cut.sql.gz", fs::file_size(gz) / 2);
  auto as_tar = verify(f.dir / "cut.tar.gz");
  auto as_dump = verify(f.dir / "cut.sql.gz");
  CHECK(as_dump.status == Status::fail);
  CHECK(as_dump.details["format"] == "GNU tar format");
  CHECK(as_dump.details["damage"]["kind"] == "truncated");
  CHECK(as_dump.details["damage"]["recoverable_entries"].get<uint64_t>() > 0);
  CHECK(as_dump.details["damage"]["recoverable_entries"] ==
        as_tar.details["damage"]["recoverable_entries"]);
  CHECK(as_dump.details["damage"]["last_good_entry"] ==
        as_tar.details["damage"]["last_good_entry"]);
}
