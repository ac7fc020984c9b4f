#include "dump_inspect.hpp"

#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::pg;
using namespace backup_doctor::test::pg;

TEST_CASE("dump inspection on real pg_dump output") {
  const Dumps& d = dumps();

  SUBCASE("formats") {
    CHECK(detect_format(d.custom).format == DumpFormat::custom);
    CHECK(detect_format(d.tar).format == DumpFormat::tar);
    CHECK(detect_format(d.directory).format == DumpFormat::directory);
    CHECK(detect_format(d.plain).format == DumpFormat::plain);
    auto gz = detect_format(d.plain_gz);
    CHECK(gz.format == DumpFormat::plain);
    CHECK(gz.compression == "gzip");
    auto cgz = detect_format(d.custom_gz);
    CHECK(cgz.format == DumpFormat::custom);
    CHECK(cgz.compression == "gzip");
    CHECK(detect_format(d.not_a_dump).format == DumpFormat::unknown);
    CHECK(detect_format(d.custom.parent_path() / "nope").problem == "does not exist");
  }
  SUBCASE("pg_restore --list output") {
    auto r = backup_doctor::support::run_process(
        {kPgBinDir + "/pg_restore", "--list", d.custom.string()});
    REQUIRE(r.ok());
    TocInfo t = parse_toc_listing(r.out);
    CHECK(t.toc_entries > 10);
    CHECK(t.dbname == "trixtech");
    CHECK(t.format == "CUSTOM");
    CHECK(t.dumped_by.rfind("15.", 0) == 0);
    CHECK(t.table_data == std::set<std::string>{"booking.reservations", "booking.rooms",
                                                "public.bookings", "public.users"});
    CHECK(table_matches(t.table_data, "users"));
    CHECK(table_matches(t.table_data, "booking.rooms"));
    CHECK(!table_matches(t.table_data, "public.rooms"));
  }
  SUBCASE("one pass over plain SQL, compressed or not") {
    for (const auto& p : {d.plain, d.plain_gz}) {
      PlainScan s = scan_plain(p, {});
      CHECK(s.error.empty());
      CHECK(s.complete);
      CHECK(s.table_data.count("public.users") == 1);
      CHECK(s.tables.count("booking.reservations") == 1);
      CHECK(s.dumped_by.rfind("15.", 0) == 0);
      CHECK(!s.has_connect);
    }
    CHECK(scan_plain(d.plain, {}).bytes == std::filesystem::file_size(d.plain));
    PlainScan cut = scan_plain(d.truncated_plain, {});
    CHECK(cut.error.empty());
    CHECK(!cut.complete);
    PlainScan cut_gz = scan_plain(d.truncated_gz, {});
    CHECK(!cut_gz.error.empty());
    PlainScan created = scan_plain(d.with_create, {});
    REQUIRE(created.cluster_statement.has_value());
    CHECK(created.cluster_statement->what == "CREATE DATABASE");
    CHECK(created.has_connect);
    CHECK(!created.psql_command);
  }
}
