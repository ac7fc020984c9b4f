// Sizes: one unit rule for every plugin (K, M, G... are powers of 1024, with or without B/iB).
#include <backup_doctor/params.hpp>
#include <backup_doctor/size.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor;
using sdk::parse_size;

TEST_CASE("parse_size: bytes, and binary units however they are written") {
  CHECK(parse_size("123") == 123u);
  CHECK(parse_size("123B") == 123u);
  CHECK(parse_size("1K") == 1024u);
  CHECK(parse_size("1.5KiB") == 1536u);
  CHECK(parse_size("10G") == 10ull * 1024 * 1024 * 1024);
  CHECK(parse_size("10 GiB") == 10ull * 1024 * 1024 * 1024);
  CHECK(parse_size("500m") == 500ull * 1024 * 1024);
  CHECK(parse_size("1.5GiB") == 1536ull << 20);
  // "8MB" is the 8 MiB the AWS CLI means in multipart_chunksize, as df -h would count it.
  CHECK(parse_size("16MB") == 16ull << 20);
  CHECK(parse_size("2TB") == 2ull << 40);
  CHECK_FALSE(parse_size("").has_value());
  CHECK_FALSE(parse_size("ten").has_value());
  CHECK_FALSE(parse_size("10X").has_value());
  CHECK_FALSE(parse_size("10Gx").has_value());
  CHECK_FALSE(parse_size("-1").has_value());
}

TEST_CASE("optional_size: an integer or a size string; anything else names the parameter") {
  CHECK(sdk::optional_size({{"n", 1234}}, "n") == 1234u);
  CHECK(sdk::optional_size({{"n", "8MiB"}}, "n") == 8u << 20);
  CHECK_FALSE(sdk::optional_size({{"other", 1}}, "n").has_value());
  CHECK_FALSE(sdk::optional_size({{"n", nullptr}}, "n").has_value());
  for (const nlohmann::json& bad : {nlohmann::json("lots"), nlohmann::json(-1)}) {
    CAPTURE(bad);
    try {
      sdk::optional_size({{"n", bad}}, "n");
      FAIL("accepted");
    } catch (const sdk::CheckError& e) {
      CHECK(std::string(e.what()).find("parameter 'n' is not a size") != std::string::npos);
    }
  }
}
