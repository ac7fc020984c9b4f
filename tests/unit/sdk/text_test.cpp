// Text for people: shell quoting that survives pasting, sizes, UTC times.
#include <backup_doctor/text.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

using backup_doctor::sdk::count_of;
using backup_doctor::sdk::human_size;
using backup_doctor::sdk::iso_time;
using backup_doctor::sdk::shell_quote;

TEST_CASE("shell_quote leaves plain words alone and quotes the rest") {
  CHECK(shell_quote("/opt/backups/db_2026.sql.gz") == "/opt/backups/db_2026.sql.gz");
  CHECK(shell_quote("user@host:/srv,a=b+c%d") == "user@host:/srv,a=b+c%d");
  CHECK(shell_quote("/opt/my backups") == "'/opt/my backups'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("~/backups") == "'~/backups'");
  CHECK(shell_quote("$(rm -rf /)") == "'$(rm -rf /)'");
  CHECK(shell_quote("") == "''");
}

TEST_CASE("shell_quote output means the original word to a real shell") {
  for (std::string word : {"plain", "two words", "it's", "a'b'c", "$HOME", "`x`", "*", "~", ""}) {
    CAPTURE(word);
    std::string cmd = "printf %s " + shell_quote(word);
    FILE* f = ::popen(cmd.c_str(), "r");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    CHECK(::pclose(f) == 0);
    CHECK(out == word);
  }
}

TEST_CASE("human_size: one decimal below 10, none above, no trailing .0") {
  CHECK(human_size(0) == "0 B");
  CHECK(human_size(812) == "812 B");
  CHECK(human_size(1023) == "1023 B");
  CHECK(human_size(1024) == "1 KiB");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(5u << 20) == "5 MiB");
  CHECK(human_size(10239) == "10 KiB");  // 9.999 KiB rounds to 10, not "10.0"
  CHECK(human_size(687'059'752) == "655 MiB");
  CHECK(human_size(uint64_t{3} << 40) == "3 TiB");
}

TEST_CASE("iso_time is UTC to the second") {
  CHECK(iso_time(0) == "1970-01-01T00:00:00Z");
  CHECK(iso_time(1'795'834'812) == "2026-11-28T03:00:12Z");
}

TEST_CASE("count_of puts the noun in the right number") {
  CHECK(count_of(0, "entry", "entries") == "0 entries");
  CHECK(count_of(1, "entry", "entries") == "1 entry");
  CHECK(count_of(12, "file", "files") == "12 files");
}
