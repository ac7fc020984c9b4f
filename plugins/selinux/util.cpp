#include "util.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace backup_doctor::selinux {

std::string finish_schema(std::string_view schema_text) {
  std::string out(schema_text);
  const std::string marker = "@duration@";
  std::string pattern = json(kDurationPattern).dump();
  pattern = pattern.substr(1, pattern.size() - 2);  // JSON-escaped, without the quotes
  for (size_t pos = out.find(marker); pos != std::string::npos; pos = out.find(marker, pos)) {
    out.replace(pos, marker.size(), pattern);
    pos += pattern.size();
  }
  return out;
}

std::string string_param(const json& params, const char* key, const char* fallback) {
  if (!params.contains(key) || params[key].is_null()) return fallback;
  if (!params[key].is_string())
    throw sdk::CheckError(std::string("parameter '") + key + "' must be a string");
  return params[key].get<std::string>();
}

bool bool_param(const json& params, const char* key, bool fallback) {
  if (!params.contains(key) || params[key].is_null()) return fallback;
  if (!params[key].is_boolean())
    throw sdk::CheckError(std::string("parameter '") + key + "' must be true or false");
  return params[key].get<bool>();
}

size_t count_param(const json& params, const char* key, size_t fallback) {
  if (!params.contains(key) || params[key].is_null()) return fallback;
  if (!params[key].is_number_integer() || params[key].get<long long>() < 1)
    throw sdk::CheckError(std::string("parameter '") + key + "' must be a positive integer");
  return static_cast<size_t>(params[key].get<long long>());
}

std::chrono::milliseconds duration_param(const json& params, const char* key,
                                         const char* fallback) {
  std::string text = string_param(params, key, fallback);
  auto d = parse_duration(text);
  if (!d)
    throw sdk::CheckError(std::string("parameter '") + key + "' is not a duration: \"" + text +
                          "\" (write e.g. \"30m\", \"24h\", \"7d\")");
  return *d;
}

std::vector<std::string> string_list(const json& params, const char* key,
                                     std::vector<std::string> fallback) {
  if (!params.contains(key) || params[key].is_null()) return fallback;
  const json& v = params[key];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array())
    throw sdk::CheckError(std::string("parameter '") + key + "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string())
      throw sdk::CheckError(std::string("parameter '") + key + "' must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string shell_quote(std::string_view s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+:=@%,", c) != nullptr;
  });
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string errno_text(int err) {
  return std::strerror(err);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string iso_time(double seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool has_glob_chars(std::string_view s) {
  return s.find_first_of("*?[") != std::string_view::npos;
}

}  // namespace backup_doctor::selinux
