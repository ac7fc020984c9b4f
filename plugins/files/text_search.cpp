#include "text_search.hpp"

#include <cstring>

namespace backup_doctor::files {

namespace {
// How common a byte is in log text: letters by English frequency, digits and punctuation
// common, everything else rare. Lower is rarer.
int commonness(unsigned char c) {
  static const char* by_frequency = "etaoinsrhldcumfpgwybvkxjqz";  // most common first
  if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
  if (const char* p = std::strchr(by_frequency, c); p != nullptr && c != 0)
    return 100 - static_cast<int>(p - by_frequency);
  if (c == ' ' || (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '.') return 200;
  return 10;
}
}  // namespace

TextSearcher::TextSearcher(std::string_view needle, bool ignore_case) {
  for (size_t c = 0; c < 256; ++c)
    fold_[c] = static_cast<unsigned char>(ignore_case && c >= 'A' && c <= 'Z' ? c + 32 : c);
  needle_.reserve(needle.size());
  for (char c : needle) needle_ += static_cast<char>(fold_[static_cast<unsigned char>(c)]);
  for (size_t i = 1; i < needle_.size(); ++i)
    if (commonness(static_cast<unsigned char>(needle_[i])) <
        commonness(static_cast<unsigned char>(needle_[anchor_])))
      anchor_ = i;
  if (!needle_.empty()) {
    anchor_lo_ = anchor_hi_ = static_cast<unsigned char>(needle_[anchor_]);
    if (ignore_case && anchor_lo_ >= 'a' && anchor_lo_ <= 'z')
      anchor_hi_ = static_cast<unsigned char>(anchor_lo_ - 32);
  }
}

bool TextSearcher::matches_at(const unsigned char* start) const {
  for (size_t j = 0; j < needle_.size(); ++j)
    if (fold_[start[j]] != static_cast<unsigned char>(needle_[j])) return false;
  return true;
}

bool TextSearcher::found_in(std::string_view hay) const {
  const size_t m = needle_.size(), n = hay.size();
  if (m == 0) return true;
  if (n < m) return false;
  const auto* h = reinterpret_cast<const unsigned char*>(hay.data());
  // Candidates: the anchor byte at a position where the whole needle fits.
  const unsigned char* first = h + anchor_;
  const unsigned char* last = h + (n - m) + anchor_ + 1;  // one past the last candidate
  for (unsigned char a : {anchor_lo_, anchor_hi_}) {
    const unsigned char* p = first;
    while (p < last) {
      p = static_cast<const unsigned char*>(std::memchr(p, a, static_cast<size_t>(last - p)));
      if (p == nullptr) break;
      if (matches_at(p - anchor_)) return true;
      ++p;
    }
    if (anchor_hi_ == anchor_lo_) break;
  }
  return false;
}

}  // namespace backup_doctor::files
