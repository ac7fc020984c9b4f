#include "text_search.hpp"
#include "fixtures.hpp"

#include <algorithm>
#include <random>

using backup_doctor::files::TextSearcher;

namespace {
bool naive(std::string hay, std::string needle, bool icase) {
  if (icase) {
    auto low = [](std::string& s) {
      for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    };
    low(hay);
    low(needle);
  }
  return hay.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("TextSearcher finds what std::string::find finds, with and without case folding") {
  std::mt19937 rng(7);
  const std::string alphabet = "aAbBeErR \xc3\xa9-";
  for (int i = 0; i < 20000; ++i) {
    std::string hay, needle;
    for (size_t k = rng() % 40; k > 0; --k) hay += alphabet[rng() % alphabet.size()];
    for (size_t k = 1 + rng() % 4; k > 0; --k) needle += alphabet[rng() % alphabet.size()];
    for (bool icase : {false, true}) {
      INFO(hay << " / " << needle << " icase=" << icase);
      CHECK(TextSearcher(needle, icase).found_in(hay) == naive(hay, needle, icase));
    }
  }
}

TEST_CASE("TextSearcher on log lines") {
  TextSearcher error("error", true);
  CHECK(error.found_in("pg_dump: ERROR: connection refused"));
  CHECK(error.found_in("Errors: 3"));
  CHECK_FALSE(error.found_in("all rows ok"));
  CHECK_FALSE(error.found_in("erro"));
  CHECK_FALSE(TextSearcher("ERROR", false).found_in("error"));
  CHECK(TextSearcher("", true).found_in("anything"));
}
