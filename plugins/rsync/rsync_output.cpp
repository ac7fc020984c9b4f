#include "rsync_output.hpp"

#include <cctype>
#include <charconv>
#include <limits>
#include <regex>

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
  static const std::regex errno_tail(R"(:\s*([^:]+?)\s*\((\d+)\)\s*$)");
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
      std::smatch m;
      issue.kind =
          std::regex_search(line, m, errno_tail) ? kind_for_errno(small_number(m[2])) : "error";
    }
    report.issues.push_back(std::move(issue));
  }
  return report;
}

std::optional<RsyncVersion> parse_version(std::string_view version_output) {
  static const std::regex re(R"(rsync\s+version\s+v?(\S+)\s+protocol\s+version\s+(\d+))");
  std::string text(version_output);
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return RsyncVersion{m[1], std::max(0, small_number(m[2]))};  // 0: unknown
}

}  // namespace backup_doctor::rsync
