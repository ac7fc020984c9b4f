// Substring search for log scanning, with optional ASCII case folding and no per-call setup.
// It looks for the needle's rarest byte with memchr (vectorised in glibc; both cases when
// folding) and verifies around each candidate, which on short log lines beats both
// Boyer-Moore-Horspool (short needles barely skip) and glibc's memmem (setup on every call).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace backup_doctor::files {

class TextSearcher {
 public:
  TextSearcher(std::string_view needle, bool ignore_case);
  bool found_in(std::string_view haystack) const;

 private:
  bool matches_at(const unsigned char* start) const;

  std::array<unsigned char, 256> fold_{};
  std::string needle_;                           // folded
  size_t anchor_ = 0;                            // index in needle_ of its rarest byte
  unsigned char anchor_lo_ = 0, anchor_hi_ = 0;  // the anchor's two cases (equal if no case)
};

}  // namespace backup_doctor::files
