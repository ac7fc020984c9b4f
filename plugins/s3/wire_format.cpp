#include "wire_format.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace backup_doctor::s3 {

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<int64_t> parse_iso8601(std::string_view text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                  &second) != 6)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  int64_t t = timegm(&tm);
  // An explicit offset ("+02:00") is rare in S3 answers but cheap to honour.
  auto tpos = s.find('T');
  auto zpos = s.find_first_of("+-", tpos == std::string::npos ? 0 : tpos);
  if (zpos != std::string::npos && zpos + 5 < s.size() + 1) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + zpos + 1, "%2d:%2d", &oh, &om) == 2) {
      int64_t offset = oh * 3600 + om * 60;
      t += s[zpos] == '+' ? -offset : offset;
    }
  }
  return t;
}

std::optional<int64_t> parse_http_date(const std::string& text) {
  if (text.empty()) return std::nullopt;
  time_t t = curl_getdate(text.c_str(), nullptr);
  if (t == -1) return std::nullopt;
  return static_cast<int64_t>(t);
}

}  // namespace backup_doctor::s3
