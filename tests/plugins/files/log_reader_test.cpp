#include "log_reader.hpp"
#include "fixtures.hpp"

#include <random>

using namespace files_test;
using backup_doctor::files::count_newlines;
using backup_doctor::files::ReverseLineReader;

namespace {
std::vector<std::string> backwards(const std::filesystem::path& p, size_t chunk,
                                   size_t max_line = 1 << 20) {
  int fd = ::open(p.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  struct stat st {};
  fstat(fd, &st);
  ReverseLineReader r(fd, st.st_size, chunk, max_line);
  std::vector<std::string> out;
  std::string_view line;
  while (r.prev(line)) out.emplace_back(line);
  ::close(fd);
  return out;
}
std::vector<std::string> forwards(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return {lines.rbegin(), lines.rend()};
}
}  // namespace

TEST_CASE("ReverseLineReader: same lines as a forward split, at every chunk size") {
  TempDir t;
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::string text;
    int lines = static_cast<int>(rng() % 50);
    for (int i = 0; i < lines; ++i) {
      text += std::string(rng() % 40, static_cast<char>('a' + i % 26));
      text += '\n';
    }
    if (rng() % 2) text += "no newline at end";
    auto p = t.write("log" + std::to_string(round), text);
    auto expected = forwards(text);
    for (size_t chunk : {1, 2, 3, 7, 64, 65536}) {
      INFO("round " << round << " chunk " << chunk);
      CHECK(backwards(p, chunk) == expected);
    }
  }
}

TEST_CASE("ReverseLineReader: empty file, blank lines, CRLF kept, runaway line cut") {
  TempDir t;
  CHECK(backwards(t.write("empty", ""), 4).empty());
  CHECK(backwards(t.write("blank", "a\n\nb\n"), 2) == std::vector<std::string>{"b", "", "a"});
  CHECK(backwards(t.write("crlf", "x\r\ny\r\n"), 3) == std::vector<std::string>{"y\r", "x\r"});
  std::string huge = "start" + std::string(100000, 'z');
  auto lines = backwards(t.write("long", "first\n" + huge + "\nlast\n"), 1000, 5000);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "last");
  CHECK(lines[1].size() <= 5000);
  CHECK(lines[1].rfind("start", 0) == 0);  // the line's beginning is what is kept
  CHECK(lines[2] == "first");
}

TEST_CASE("count_newlines counts up to an offset and gives up past its limit") {
  TempDir t;
  auto p = t.write("f", "a\nb\nc\nd");
  int fd = ::open(p.c_str(), O_RDONLY);
  uintmax_t n = 0;
  CHECK(count_newlines(fd, 4, 100, n));
  CHECK(n == 2);
  CHECK(count_newlines(fd, 7, 100, n));
  CHECK(n == 3);
  CHECK_FALSE(count_newlines(fd, 7, 5, n));
  ::close(fd);
}
