// Both syntaxes become one matcher (which minutes, hours, days, months, weekdays), and the
// longest gap is found by walking the minutes of a year: exact for every form, including the
// ones a formula gets wrong (weekdays only, the 31st, several hours a day).
#include "init/schedule.hpp"
#include "init/words.hpp"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <sstream>
#include <vector>

namespace backup_doctor::init {
namespace {

struct Matcher {
  std::bitset<60> minute;
  std::bitset<24> hour;
  std::bitset<32> day;     // 1..31
  std::bitset<13> month;   // 1..12
  std::bitset<7> weekday;  // 0 = Sunday
  bool day_restricted = false;
  bool weekday_restricted = false;
  bool cron_day_or = false;  // cron: when both day and weekday are restricted, either matches
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// A number or a name (three letters, or the full name for weekdays); -1 when neither.
int value_of(const std::string& text, bool months, bool days) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    return text.size() > 4 ? -1 : std::stoi(text);
  }
  const std::string t = lower(text).substr(0, 3);
  for (int i = 0; months && i < 12; ++i) {
    if (t == kMonths[i]) return i + 1;
  }
  for (int i = 0; days && i < 7; ++i) {
    if (t == kDays[i]) return i;
  }
  return -1;
}

// One field: "*", "5", "1-5", "*/15", "1-30/2", "mon..fri", "0/15", lists of those. `range` is
// "-" (cron) or ".." (systemd). Sets bits lo..hi of `bits`; false when not understood.
template <size_t N>
bool parse_field(const std::string& field, int lo, int hi, const std::string& range, bool months,
                 bool days, std::bitset<N>& bits) {
  for (const std::string& item : split(field, ',')) {
    std::string body = item;
    int step = 1;
    if (size_t slash = body.find('/'); slash != std::string::npos) {
      const std::string s = body.substr(slash + 1);
      if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit) || s.size() > 4) return false;
      step = std::stoi(s);
      body = body.substr(0, slash);
      if (step <= 0) return false;
    }
    int from = lo, to = hi;
    if (body != "*") {
      const size_t r = body.find(range);
      from = value_of(body.substr(0, r), months, days);
      to = r == std::string::npos ? (step > 1 ? hi : from)
                                  : value_of(body.substr(r + range.size()), months, days);
    }
    if (from < lo || to > hi + (days ? 1 : 0) || from > to) return false;
    for (int v = from; v <= to; v += step) bits.set(static_cast<size_t>(days ? v % 7 : v));
  }
  return true;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
long days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

bool day_matches(const Matcher& m, int month, int day, int weekday) {
  if (!m.month.test(static_cast<size_t>(month))) return false;
  const bool d = m.day.test(static_cast<size_t>(day));
  const bool w = m.weekday.test(static_cast<size_t>(weekday));
  if (m.cron_day_or && m.day_restricted && m.weekday_restricted) return d || w;
  return d && w;
}

// The longest gap between runs over two years from 2026-01-01 (leap days included).
std::optional<std::chrono::minutes> longest_gap(const Matcher& m) {
  const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::optional<long> previous;
  long longest = 0;
  const long first_day = days_from_civil(2026, 1, 1);
  for (int year = 2026; year <= 2028; ++year) {
    for (int month = 1; month <= 12; ++month) {
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      const int days = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
      for (int day = 1; day <= days; ++day) {
        const long n =
            days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
        const int weekday = static_cast<int>((n + 4) % 7);  // 1970-01-01 was a Thursday
        if (!day_matches(m, month, day, weekday)) continue;
        for (int h = 0; h < 24; ++h) {
          if (!m.hour.test(static_cast<size_t>(h))) continue;
          for (int mi = 0; mi < 60; ++mi) {
            if (!m.minute.test(static_cast<size_t>(mi))) continue;
            const long t = ((n - first_day) * 24 + h) * 60 + mi;
            if (previous) longest = std::max(longest, t - *previous);
            previous = t;
          }
        }
      }
    }
  }
  if (longest == 0) return std::nullopt;
  return std::chrono::minutes(longest);
}

Schedule from_matcher(const std::string& text, const Matcher& m) {
  Schedule s{text, longest_gap(m), ""};
  if (!s.longest_gap) s.problem = "'" + text + "' runs less than twice in two years";
  return s;
}

Schedule not_understood(const std::string& text, const std::string& why) {
  return {text, std::nullopt, why};
}

}  // namespace

Schedule periodic_schedule(const std::string& text, std::chrono::minutes period) {
  return {text, period, ""};
}

Schedule cron_schedule(const std::string& expression) {
  static const std::pair<const char*, const char*> kShorthands[] = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"}};
  std::string fields_text = expression;
  for (const auto& [name, fields] : kShorthands) {
    if (expression == name) fields_text = fields;
  }
  if (expression == "@reboot")
    return not_understood(expression, "@reboot runs only when the host starts");
  std::istringstream in(fields_text);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  Matcher m;
  m.cron_day_or = true;
  if (f.size() != 5 || !parse_field(f[0], 0, 59, "-", false, false, m.minute) ||
      !parse_field(f[1], 0, 23, "-", false, false, m.hour) ||
      !parse_field(f[2], 1, 31, "-", false, false, m.day) ||
      !parse_field(f[3], 1, 12, "-", true, false, m.month) ||
      !parse_field(f[4], 0, 6, "-", false, true, m.weekday)) {
    return not_understood(expression, "'" + expression + "' is not a cron schedule init can read");
  }
  m.day_restricted = f[2] != "*";
  m.weekday_restricted = f[4] != "*";
  return from_matcher(expression, m);
}

namespace {

// "Mon..Fri", "Sat,Sun": true when `word` was a weekday list (and sets the bits).
bool parse_weekdays(const std::string& word, Matcher& m) {
  if (value_of(word.substr(0, word.find_first_of(".,")), false, true) < 0 || std::isdigit(word[0]))
    return false;
  m.weekday.reset();
  m.weekday_restricted = true;
  return parse_field(word, 0, 6, "..", false, true, m.weekday);
}

bool parse_date(const std::string& word, Matcher& m) {
  std::vector<std::string> p = split(word, '-');
  if (p.size() == 2) p.insert(p.begin(), "*");
  if (p.size() != 3 || p[0] != "*") return false;  // a fixed year is not a recurring backup
  m.month.reset();
  m.day.reset();
  m.day_restricted = p[2] != "*";
  return parse_field(p[1], 1, 12, "..", false, false, m.month) &&
         parse_field(p[2], 1, 31, "..", false, false, m.day);
}

bool parse_time(const std::string& word, Matcher& m) {
  std::vector<std::string> p = split(word, ':');
  if (p.size() < 2 || p.size() > 3) return false;
  m.hour.reset();
  m.minute.reset();
  // systemd's "a/n" starts at a; written as "a..max/n" for parse_field.
  auto stepped = [](std::string s, int max) {
    const size_t slash = s.find('/');
    if (slash != std::string::npos && s.find("..") == std::string::npos &&
        s.substr(0, slash) != "*")
      s = s.substr(0, slash) + ".." + std::to_string(max) + s.substr(slash);
    return s;
  };
  return parse_field(stepped(p[0], 23), 0, 23, "..", false, false, m.hour) &&
         parse_field(stepped(p[1], 59), 0, 59, "..", false, false, m.minute);
}

}  // namespace

Schedule calendar_schedule(const std::string& expression) {
  static const std::pair<const char*, const char*> kShorthands[] = {
      {"minutely", "*-*-* *:*:00"},
      {"hourly", "*-*-* *:00:00"},
      {"daily", "*-*-* 00:00:00"},
      {"weekly", "Mon *-*-* 00:00:00"},
      {"monthly", "*-*-01 00:00:00"},
      {"yearly", "*-01-01 00:00:00"},
      {"annually", "*-01-01 00:00:00"},
      {"quarterly", "*-01,04,07,10-01 00:00:00"},
      {"semiannually", "*-01,07-01 00:00:00"}};
  std::string text = expression;
  for (const auto& [name, normal] : kShorthands) {
    if (lower(expression) == name) text = normal;
  }
  Matcher m;
  m.minute.set(0);
  m.hour.set(0);
  m.day.set();
  m.month.set();
  m.weekday.set();
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (!words.empty() && std::isalpha(static_cast<unsigned char>(words.back()[0])) &&
      words.size() > 1 && value_of(words.back().substr(0, 3), false, true) < 0)
    words.pop_back();  // a time zone
  bool ok = !words.empty();
  for (size_t i = 0; ok && i < words.size(); ++i) {
    const std::string& w = words[i];
    if (i == 0 && parse_weekdays(w, m)) continue;
    if (w.find(':') != std::string::npos)
      ok = parse_time(w, m);
    else
      ok = parse_date(w, m);
  }
  if (!ok)
    return not_understood(expression,
                          "OnCalendar=" + expression + " is not a calendar event init can read");
  return from_matcher(expression, m);
}

std::string duration_text(std::chrono::minutes d) {
  long minutes = d.count();
  std::string out;
  const long days = minutes >= 48 * 60 ? minutes / (24 * 60) : 0;
  minutes -= days * 24 * 60;
  if (days) out += std::to_string(days) + "d";
  if (minutes / 60) out += std::to_string(minutes / 60) + "h";
  if (minutes % 60) out += std::to_string(minutes % 60) + "m";
  return out.empty() ? "0m" : out;
}

std::string freshness_limit(std::chrono::minutes longest_gap) {
  const std::chrono::minutes slack = std::max(std::chrono::minutes(60), longest_gap / 24);
  return duration_text(longest_gap + slack);
}

}  // namespace backup_doctor::init
