#include "procfs.hpp"
#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "support/temp_dir.hpp"

#include <cerrno>
#include <filesystem>

using namespace backup_doctor::resources;
using backup_doctor::resources::test::FakeHost;

TEST_CASE("read_file is bounded, never follows a final link, never opens a FIFO") {
  backup_doctor::test::TempDir dir("bd-res-read");
  auto big = dir.write("big", std::string(10000, 'x'));
  bool truncated = false;
  auto part = read_file(big.string(), nullptr, 4096, &truncated);
  REQUIRE(part);
  CHECK(part->size() == 4096);
  CHECK(truncated);
  auto whole = read_file(big.string(), nullptr, 10000, &truncated);
  REQUIRE(whole);
  CHECK(whole->size() == 10000);
  CHECK_FALSE(truncated);
  auto link = dir.path() / "link";
  std::filesystem::create_symlink(big, link);
  int err = 0;
  CHECK_FALSE(read_file(link.string(), &err));
  CHECK(err == ELOOP);
  auto fifo = dir.path() / "fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(read_file(fifo.string(), &err));  // returns at once, nothing opened for reading
  CHECK(err == EINVAL);
  // Real proc files, through the /proc/self link, as the checks read them.
  CHECK(read_file("/proc/self/stat"));
}

TEST_CASE("parse_psi reads some and full lines") {
  auto psi = parse_psi(
      "some avg10=1.50 avg60=2.25 avg300=0.10 total=123456\n"
      "full avg10=0.00 avg60=0.75 avg300=0.00 total=42\n");
  REQUIRE(psi.has_value());
  CHECK(psi->some.avg[0] == doctest::Approx(1.5));
  CHECK(psi->some.avg[1] == doctest::Approx(2.25));
  CHECK(psi->some.total_us == 123456u);
  REQUIRE(psi->full.has_value());
  CHECK(psi->full->avg[1] == doctest::Approx(0.75));
}

TEST_CASE("parse_psi accepts a cpu file without full (before 5.13) and rejects junk") {
  auto psi = parse_psi("some avg10=0.00 avg60=3.00 avg300=0.00 total=1\n");
  REQUIRE(psi.has_value());
  CHECK_FALSE(psi->full.has_value());
  CHECK_FALSE(parse_psi("").has_value());
  CHECK_FALSE(parse_psi("some avg10=x avg60=1 avg300=1 total=1\n").has_value());
  CHECK_FALSE(parse_psi("some avg10=1 avg60=1\n").has_value());
  CHECK_FALSE(parse_psi("weird avg10=1 avg60=1 avg300=1 total=1\n").has_value());
}

TEST_CASE("read_pressure: missing file is unavailable with a reason, junk throws") {
  FakeHost h;
  auto r = read_pressure(h.proc(), "memory");
  CHECK_FALSE(r.available);
  CHECK(r.reason.find("does not exist") != std::string::npos);
  CHECK(r.reason.find("4.20") != std::string::npos);
  h.proc_file("pressure/memory", "garbage\n");
  CHECK_THROWS_AS(read_pressure(h.proc(), "memory"), backup_doctor::sdk::CheckError);
  h.psi("memory", 3, 1);
  auto ok = read_pressure(h.proc(), "memory");
  CHECK(ok.available);
  CHECK(ok.psi.some.avg[1] == doctest::Approx(3));
}

TEST_CASE("parse_meminfo converts kB to bytes") {
  auto m = parse_meminfo("MemTotal: 1000 kB\nMemAvailable:  500 kB\nHugePages_Total: 0\n");
  CHECK(m["MemTotal"] == 1000u * 1024);
  CHECK(m["MemAvailable"] == 500u * 1024);
  CHECK(m["HugePages_Total"] == 0u);
}

TEST_CASE("parse_loadavg and count_cpus") {
  auto l = parse_loadavg("0.50 1.25 2.00 3/456 7890\n");
  REQUIRE(l.has_value());
  CHECK(l->load5 == doctest::Approx(1.25));
  CHECK(l->running == 3);
  CHECK(l->total == 456);
  CHECK_FALSE(parse_loadavg("nonsense").has_value());
  CHECK(count_cpus("cpu  1 2 3\ncpu0 1 2 3\ncpu1 1 2 3\nintr 5\n") == 2);
}

TEST_CASE("parse_diskstats skips short lines and reads 11 to 17 fields") {
  auto d = parse_diskstats(
      "   8       0 sda 100 0 2000 50 200 0 4000 150 0 300 200\n"
      " 254       0 vda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"
      "bad line\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].name == "sda");
  CHECK(d[0].reads() == 100u);
  CHECK(d[0].io_ms() == 300u);
  CHECK(d[1].fields.size() == 17u);
}

TEST_CASE("disk_rates computes what iostat -x shows") {
  DiskStat a, b;
  a.fields = {100, 0, 2000, 100, 200, 0, 4000, 400, 0, 500, 600};
  // +50 reads (+1000 sectors, +500 ms), +100 writes (+2000 sectors, +1500 ms), io_ms +800 in 1 s
  b.fields = {150, 0, 3000, 600, 300, 0, 6000, 1900, 2, 1300, 2600};
  auto r = disk_rates(a, b, 1000);
  CHECK(r.reads_per_s == doctest::Approx(50));
  CHECK(r.writes_per_s == doctest::Approx(100));
  CHECK(r.read_bytes_per_s == doctest::Approx(1000 * 512));
  CHECK(r.r_await_ms == doctest::Approx(10));
  CHECK(r.w_await_ms == doctest::Approx(15));
  CHECK(r.await_ms == doctest::Approx(2000.0 / 150));
  CHECK(r.util_percent == doctest::Approx(80));
  CHECK(r.queue_size == doctest::Approx(2));
  CHECK(r.ios == 150u);
  // A counter that went backwards (wrap or reset) counts as no change.
  auto back = disk_rates(b, a, 1000);
  CHECK(back.reads_per_s == doctest::Approx(0));
  CHECK(back.util_percent == doctest::Approx(0));
}

TEST_CASE("block_device_for maps st_dev through the fixture /sys, partitions included") {
  FakeHost h;
  h.block_device(8, 0, "sda");
  h.block_device(8, 1, "sda1", "sda");
  h.dir.write("sys/devices/virtual/block/dm-0/dm/name", "vg0-backups\n");
  h.block_device(253, 0, "dm-0");
  std::string why;
  auto d = block_device_for(h.sys(), h.proc(), makedev(8, 1), "/x", &why);
  REQUIRE(d.has_value());
  CHECK(d->name == "sda1");
  CHECK(d->parent == "sda");
  auto dm = block_device_for(h.sys(), h.proc(), makedev(253, 0), "/x", &why);
  REQUIRE(dm.has_value());
  CHECK(dm->mapper_name == "vg0-backups");
  CHECK_FALSE(block_device_for(h.sys(), h.proc(), makedev(9, 9), "/x", &why).has_value());
  CHECK(why.find("9:9") != std::string::npos);
}

TEST_CASE("block_device_named finds a device by name or numbers, also only via diskstats") {
  FakeHost h;
  h.block_device(8, 0, "sda");
  h.proc_file("diskstats", " 259 0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11\n");
  std::string why;
  auto a = block_device_named(h.sys(), h.proc(), "8:0", &why);
  REQUIRE(a.has_value());
  CHECK(a->name == "sda");
  auto b = block_device_named(h.sys(), h.proc(), "/dev/nvme0n1", &why);
  REQUIRE(b.has_value());
  CHECK(b->major == 259u);
  CHECK_FALSE(block_device_named(h.sys(), h.proc(), "sdz", &why).has_value());
}

TEST_CASE("block_device_for on the live host resolves the temp directory's device or says why") {
  backup_doctor::test::TempDir t;
  struct stat st {};
  REQUIRE(::stat(t.path().c_str(), &st) == 0);
  std::string why;
  auto d = block_device_for("/sys", "/proc", st.st_dev, t.path().string(), &why);
  if (d) {
    CHECK_FALSE(d->name.empty());
  } else {
    CHECK_FALSE(why.empty());  // tmpfs/overlay: no block device, with the reason
  }
}

TEST_CASE("block_device_for follows an anonymous device through mountinfo, or says why not") {
  FakeHost h;
  // A tmpfs mount and a btrfs-like mount whose source is a real block device of this host.
  h.proc_file("self/mountinfo",
              "22 1 0:21 / /run rw - tmpfs tmpfs rw\n"
              "23 1 0:50 / /srv/backups rw - btrfs /dev/null rw\n"
              "24 1 0:51 / /srv/backups/nfs rw - nfs4 server:/export rw\n");
  std::string why;
  CHECK_FALSE(block_device_for(h.sys(), h.proc(), makedev(0, 21), "/run/x", &why).has_value());
  CHECK(why.find("tmpfs") != std::string::npos);
  CHECK(why.find("no block device") != std::string::npos);
  // The longest mount point wins: the NFS mount below /srv/backups.
  CHECK_FALSE(
      block_device_for(h.sys(), h.proc(), makedev(0, 51), "/srv/backups/nfs/a", &why).has_value());
  CHECK(why.find("nfs4") != std::string::npos);
  // /dev/null is a character device, not a block device: still no disk, with the reason.
  CHECK_FALSE(
      block_device_for(h.sys(), h.proc(), makedev(0, 50), "/srv/backups/db", &why).has_value());
  CHECK(why.find("btrfs") != std::string::npos);
}
