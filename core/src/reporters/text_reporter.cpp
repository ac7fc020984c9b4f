// The report for people: grouped by backup set, root causes first with their consequences under
// them, each problem with what to do under it, then a one-line total (or, with `--group none`,
// one list by status). docs/report.md ("Text") describes this layout.
#include "reporters/counted.hpp"
#include "reporters/diagnosis_tree.hpp"
#include "reporters/reporter.hpp"
#include "reporters/safe_text.hpp"

#include <backup_doctor/duration.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace backup_doctor {
namespace {

const char* colour_of(Status s) {
  switch (s) {
    case Status::ok:
      return "\033[32m";
    case Status::warn:
      return "\033[33m";
    case Status::fail:
      return "\033[31m";
    case Status::error:
      return "\033[35m";
    case Status::skipped:
      return "\033[2m";
  }
  return "";
}

std::string label(Status s) {
  switch (s) {
    case Status::ok:
      return "OK";
    case Status::warn:
      return "WARN";
    case Status::fail:
      return "FAIL";
    case Status::error:
      return "ERROR";
    case Status::skipped:
      return "SKIP";
  }
  return "?";
}

// Indents every line of `text` (remediation may hold several lines, e.g. GRANT statements).
std::string indented(const std::string& text, const std::string& prefix, const std::string& first) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  bool is_first = true;
  while (std::getline(in, line)) {
    out += (is_first ? first : prefix) + line + "\n";
    is_first = false;
  }
  return out;
}

std::string seconds(std::chrono::duration<double> d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", d.count());
  return buf;
}

// --- details (-v): key: value lines, nested values indented, list items as "- " -------------

// Null and empty lists or objects read as "(none)", an empty string as "".
std::string scalar_text(const nlohmann::json& v) {
  if (v.is_null() || (v.is_structured() && v.empty())) return "(none)";
  if (!v.is_string()) return v.dump();
  const auto& s = v.get_ref<const std::string&>();
  return s.empty() ? "\"\"" : printable(s);
}

void append_members(std::string& out, const std::string& indent, const nlohmann::json& object);
void append_items(std::string& out, const std::string& indent, const nlohmann::json& array);

// `label` ("key:" or "-") and its value: on the same line when it is a one-line scalar, else
// under it, indented. Each line of a multi-line string (stderr, a log excerpt) is shown as is.
void append_entry(std::string& out, const std::string& indent, const std::string& label,
                  const nlohmann::json& value) {
  bool multi_line =
      value.is_string() && value.get_ref<const std::string&>().find('\n') != std::string::npos;
  if (value.is_primitive() && !multi_line) {
    out += indent + label + " " + scalar_text(value) + "\n";
    return;
  }
  if (value.empty()) {
    out += indent + label + " (none)\n";
    return;
  }
  out += indent + label + "\n";
  if (multi_line)
    out += indented(printable(value.get_ref<const std::string&>(), true), indent + "  ",
                    indent + "  ");
  else if (value.is_object())
    append_members(out, indent + "  ", value);
  else
    append_items(out, indent + "  ", value);
}

void append_members(std::string& out, const std::string& indent, const nlohmann::json& object) {
  for (const auto& [key, value] : object.items())
    append_entry(out, indent, printable(key) + ":", value);
}

// An object in a list starts on the "- " line, YAML-like, so the list stays compact.
void append_items(std::string& out, const std::string& indent, const nlohmann::json& array) {
  for (const auto& item : array) {
    if (!item.is_object() || item.empty()) {
      append_entry(out, indent, "-", item);
      continue;
    }
    std::string members;
    append_members(members, indent + "  ", item);
    out += indent + "- " + members.substr(indent.size() + 2);
  }
}

std::string details_text(const nlohmann::json& details, const std::string& indent) {
  std::string out;
  if (details.is_object())
    append_members(out, indent, details);
  else if (details.is_array())
    append_items(out, indent, details);
  else
    append_entry(out, indent, "-", details);
  return out;
}

// --- the report ------------------------------------------------------------------------------

struct Style {
  bool color = false;
  std::string paint(Status s, const std::string& text) const {
    return color ? std::string(colour_of(s)) + text + "\033[0m" : text;
  }
  std::string bold(const std::string& text) const {
    return color ? "\033[1m" + text + "\033[0m" : text;
  }
};

bool needs_action(Status s) {
  return s != Status::ok && s != Status::skipped;
}

// Where a result's lines go: `prefix` (its place in the tree) before its status, the summary at
// `column`, and `note` after it. `same_fix_as`: the id of the cause whose remediation is this
// one's too, said once rather than twice.
struct Placement {
  std::string prefix;
  size_t column = 0;
  std::string note;
  std::string same_fix_as;
};

// One result: its tag, id and summary (and the severity when it is not critical, and the
// note), then what to do ("-> " at the column, further lines aligned with its first) and, with
// -v, the details under it.
std::string result_text(const CheckResult& r, const Placement& at, const RenderOptions& options) {
  Style style{options.color};
  std::string tag = label(r.status);
  tag.resize(5, ' ');
  std::string id = printable(r.id);
  size_t id_width = at.column - 2 - 6 - at.prefix.size();
  if (id.size() < id_width) id.resize(id_width, ' ');
  std::string out =
      at.prefix + style.paint(r.status, tag) + " " + style.bold(id) + "  " + printable(r.summary);
  if (needs_action(r.status) && r.severity != Severity::critical)
    out += "  [" + std::string(to_string(r.severity)) + "]";
  if (!at.note.empty()) out += "  (" + at.note + ")";
  out += "\n";
  std::string pad(at.column, ' ');
  if (needs_action(r.status) && !at.same_fix_as.empty())
    out += pad + "-> the same as for " + printable(at.same_fix_as) + " above\n";
  else if (needs_action(r.status) && !r.remediation.empty())
    out += indented(printable(r.remediation, true), pad + "   ", pad + "-> ");
  if (options.verbose && r.status != Status::ok && !r.details.empty())
    out += details_text(r.details, pad + "   ");
  return out;
}

// --group none: what needs action first, then what was skipped, then what is fine; within a
// status in checklist order.
std::string flat_text(const RunReport& report, const RenderOptions& options) {
  size_t id_width = 0;
  for (const auto& r : report.results) id_width = std::max(id_width, printable(r.id).size());
  std::string out;
  for (Status group : {Status::fail, Status::error, Status::warn, Status::skipped, Status::ok})
    for (const auto& r : report.results)
      if (r.status == group) out += result_text(r, {"", 6 + id_width + 2, "", ""}, options);
  return out;
}

// --- grouped by backup set, consequences under their causes (diagnosis_tree.hpp) -------------

struct TreeLine {
  size_t result;
  size_t depth;
};

// The tree under `root`, depth first (iterative: a chain of skips can be as long as the run).
std::vector<TreeLine> tree_lines(const DiagnosisTree& tree, size_t root) {
  std::vector<TreeLine> out, pending{{root, 0}};
  while (!pending.empty()) {
    TreeLine line = pending.back();
    pending.pop_back();
    out.push_back(line);
    const auto& children = tree.consequences[line.result];
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      pending.push_back({*it, line.depth + 1});
  }
  return out;
}

// Two spaces under the group's name, then `ps --forest`'s "\_ " under the cause's status, in
// ASCII so that any terminal shows it. Deeper levels than a screen can hold stay at the last.
std::string tree_prefix(size_t depth) {
  constexpr size_t kDeepestShown = 8;
  depth = std::min(depth, kDeepestShown);
  return depth == 0 ? "  " : std::string(2 + 3 * (depth - 1), ' ') + "\\_ ";
}

std::string grouped_text(const RunReport& report, const RenderOptions& options) {
  Style style{options.color};
  DiagnosisTree tree = build_diagnosis_tree(report);
  std::vector<std::vector<TreeLine>> lines(tree.groups.size());
  size_t column = 0;  // where summaries start: one column for the whole report
  for (size_t g = 0; g < tree.groups.size(); ++g)
    for (size_t root : tree.groups[g].roots)
      for (const TreeLine& line : tree_lines(tree, root)) {
        lines[g].push_back(line);
        column = std::max(column, tree_prefix(line.depth).size() + 6 +
                                      printable(report.results[line.result].id).size() + 2);
      }
  std::string out;
  for (size_t g = 0; g < tree.groups.size(); ++g) {
    const DiagnosisGroup& group = tree.groups[g];
    if (g > 0) out += "\n";
    out += style.bold(printable(group.name)) + ": " + style.paint(group.worst, label(group.worst)) +
           "\n";
    for (const TreeLine& line : lines[g]) {
      const CheckResult& r = report.results[line.result];
      Placement at{tree_prefix(line.depth), column, "", ""};
      // A consequence from another group is shown under its cause: it says where it belongs.
      if (std::string own = group_of(r); own != group.name) at.note = "group " + printable(own);
      if (auto cause = tree.cause[line.result];
          cause && !r.remediation.empty() && report.results[*cause].remediation == r.remediation)
        at.same_fix_as = report.results[*cause].id;
      out += result_text(r, at, options);
    }
  }
  return out;
}

std::string total_line(const RunReport& report, const Style& style) {
  Status overall = report.overall();
  return counted(report.results.size(), "check") + ": " +
         counted(report.count(Status::ok), "ok", "ok") + ", " +
         counted(report.count(Status::warn), "warning") + ", " +
         counted(report.count(Status::fail), "failure") + ", " +
         counted(report.count(Status::error), "error") + ", " +
         counted(report.count(Status::skipped), "skipped", "skipped") + " in " +
         seconds(report.duration) + " - overall " + style.paint(overall, label(overall)) +
         (report.interrupted ? " (interrupted)" : "") + "\n";
}

}  // namespace

// Every string from a check or a checklist is shown through printable(): a control sequence
// in a log line or file name must not reach the terminal.
std::string render_text(const RunReport& report, const RenderOptions& options) {
  Style style{options.color};
  std::string out = style.bold("backup-doctor: " + printable(report.checklist_name)) +
                    (report.profile.empty() ? "" : " (profile " + printable(report.profile) + ")") +
                    "\n\n";
  out += options.group_by_set ? grouped_text(report, options) : flat_text(report, options);
  return out + "\n" + total_line(report, style);
}

}  // namespace backup_doctor
