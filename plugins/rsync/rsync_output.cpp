#include "rsync_output.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace backup_doctor::rsync {
namespace {

// A decimal number that fits in an int, or -1: rsync's output is the other side's words, and a
// number too large for its field must not end the diagnosis.
int small_number(const std::string& digits) {
  int value = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && end == digits.data() + digits.size() ? value : -1;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// The first number after "label:", ignoring digit-group commas ("1,234,567").
std::optional<uint64_t> number_after(std::string_view line, std::string_view label) {
  if (line.substr(0, label.size()) != label) return std::nullopt;
  size_t i = label.size();
  while (i < line.size() && (line[i] == ':' || line[i] == ' ')) ++i;
  uint64_t value = 0;
  bool any = false;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (c == ',') continue;
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return std::nullopt;  // more than 64 bits hold: not a count rsync could have made
    value = value * 10 + digit;
    any = true;
  }
  if (!any) return std::nullopt;
  return value;
}

bool is_itemize_flags(std::string_view flags) {
  // YXcstpoguax: update type, file type, then attribute letters/dots/pluses.
  if (flags.size() < 9 || flags.size() > 12) return false;
  if (std::string_view("<>ch.").find(flags[0]) == std::string_view::npos) return false;
  if (std::string_view("fdLDS").find(flags[1]) == std::string_view::npos) return false;
  for (char c : flags.substr(2))
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '?' &&
        c != ' ')
      return false;
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The errno rsync puts at the end of a complaint: ": <strerror text> (13)" -> "13". Read by
// hand: std::regex recurses once per character and a long line (a path, a remote's chatter)
// would overflow the stack.
std::optional<std::string> errno_at_end(std::string_view line) {
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  if (line.empty() || line.back() != ')') return std::nullopt;
  size_t open = line.rfind('(');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  size_t colon = line.rfind(':', open);
  if (colon == std::string_view::npos || open - colon < 2) return std::nullopt;  // no text
  return std::string(digits);
}

// Whitespace-separated words, across lines.
std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::string kind_for_errno(int err) {
  switch (err) {
    case 13:
      return "permission_denied";
    case 1:
      return "not_permitted";
    case 2:
      return "missing";
    case 20:
      return "not_a_directory";
    case 28:
      return "no_space";
    case 122:
      return "quota_exceeded";
    case 5:
      return "io_error";
    case 30:
      return "read_only_filesystem";
    case 36:
      return "name_too_long";
    default:
      return "error";
  }
}

}  // namespace

TransferStats parse_stats(std::string_view out) {
  TransferStats s;
  for (auto line : lines_of(out)) {
    if (auto v = number_after(line, "Number of files")) {
      s.files = v;
      size_t reg = line.find("reg:");
      s.regular_files = reg == std::string_view::npos ? std::optional<uint64_t>(0)
                                                      : number_after(line.substr(reg), "reg");
    } else if (auto v = number_after(line, "Number of created files"))
      s.created_files = v;
    else if (auto v = number_after(line, "Number of deleted files"))
      s.deleted_files = v;
    else if (auto v = number_after(line, "Number of regular files transferred"))
      s.transferred_files = v;
    else if (auto v = number_after(line, "Total file size"))
      s.total_size = v;
    else if (auto v = number_after(line, "Total transferred file size"))
      s.transferred_size = v;
  }
  return s;
}

Itemized parse_itemized(std::string_view out) {
  Itemized it;
  for (auto line : lines_of(out)) {
    if (line.substr(0, 9) == "*deleting") {
      ++it.deletions;
      continue;
    }
    size_t space = line.find(' ');
    if (space == std::string_view::npos || !is_itemize_flags(line.substr(0, space))) continue;
    ++it.changed;
    std::string_view flags = line.substr(0, space);
    if ((flags[0] == '<' || flags[0] == '>') && flags[1] == 'f')
      it.sent_files.emplace_back(line.substr(space + 1));
  }
  return it;
}

StderrReport parse_stderr(std::string_view err) {
  StderrReport report;
  for (auto line_view : lines_of(err)) {
    std::string line(line_view);
    if (line.empty()) continue;
    if (line.rfind("rsync error:", 0) == 0) {
      report.rsync_error_line = line;
      continue;
    }
    // A quoted path: rsync wraps the names it complains about in double quotes.
    size_t q1 = line.find('"');
    size_t q2 = line.rfind('"');
    // Remote-shell chatter that says nothing about the transfer.
    if (line.rfind("Warning: Permanently added", 0) == 0 ||
        line.rfind("Could not chdir to home directory", 0) == 0 ||
        line.rfind("Could not create directory '", 0) == 0)
      continue;
    if (q1 == std::string::npos || q2 <= q1) {
      if (line.find("*** Skipping") == std::string::npos) report.other_lines.push_back(line);
      continue;
    }
    PathIssue issue;
    issue.path = line.substr(q1 + 1, q2 - q1 - 1);
    issue.message = line;
    if (line.find("file has vanished") != std::string::npos) {
      issue.kind = "vanished";
    } else if (line.find("symlink has no referent") != std::string::npos) {
      issue.kind = "dangling_symlink";
    } else {
      auto err = errno_at_end(line);
      issue.kind = err ? kind_for_errno(small_number(*err)) : "error";
    }
    report.issues.push_back(std::move(issue));
  }
  return report;
}

std::optional<RsyncVersion> parse_version(std::string_view version_output) {
  // "rsync  version 3.2.7  protocol version 31" (the first word may be a path): by hand, as
  // errno_at_end.
  std::vector<std::string_view> w = words_of(version_output);
  for (size_t i = 0; i + 5 < w.size(); ++i) {
    if (!w[i].ends_with("rsync") || w[i + 1] != "version" || w[i + 3] != "protocol" ||
        w[i + 4] != "version")
      continue;
    std::string_view version = w[i + 2];
    if (version.size() > 1 && version.front() == 'v') version.remove_prefix(1);
    size_t digits = 0;
    while (digits < w[i + 5].size() && w[i + 5][digits] >= '0' && w[i + 5][digits] <= '9') ++digits;
    if (digits == 0) continue;
    // A protocol number too large for an int is 0: unknown.
    return RsyncVersion{std::string(version),
                        std::max(0, small_number(std::string(w[i + 5].substr(0, digits))))};
  }
  return std::nullopt;
}

}  // namespace backup_doctor::rsync
