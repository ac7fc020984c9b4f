// Several problems found by one check, reported as the one result a check has.
//
//   sdk::Findings found;
//   if (too_old) found.fail("the newest backup is 3d old", "Run the job by hand: ...");
//   if (too_small) found.warn("it is 40% smaller than the one before", "Compare ...");
//   found.report(ctx, "the newest backup is fresh and as large as usual", details);
//
// The result's status is the worst one added, in the core's order (sdk::rank: ok < warn < fail
// < error), so a check says what the report as a whole would say.
#pragma once

#include "sdk.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backup_doctor::sdk {

class Findings {
 public:
  // How several problems are phrased in one result.
  enum class Style {
    // The worst problem is the summary, "(and 2 more problems)" after it; the remediations
    // follow in the order found, as "- " items when there are several.
    lead,
    // Every problem is in the summary, worst first, separated by "; "; each distinct
    // remediation on its own line.
    list,
  };

  void add(Status status, std::string summary, std::string remediation) {
    items_.push_back(Item{status, std::move(summary), std::move(remediation)});
  }
  void warn(std::string summary, std::string remediation) {
    add(Status::warn, std::move(summary), std::move(remediation));
  }
  void fail(std::string summary, std::string remediation) {
    add(Status::fail, std::move(summary), std::move(remediation));
  }
  void error(std::string summary, std::string remediation) {
    add(Status::error, std::move(summary), std::move(remediation));
  }
  // A part of the check that could not be evaluated (no PSI on this kernel): named in the
  // result and its details; alone, it turns an ok into `skipped`.
  void not_evaluated(std::string reason) { not_evaluated_.push_back(std::move(reason)); }

  struct Item {
    Status status;
    std::string summary, remediation;
  };
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Item>& items() const { return items_; }
  // The problems, worst first (stable: in the order found within a status), for a check that
  // phrases its result itself.
  std::vector<const Item*> worst_first() const {
    std::vector<const Item*> sorted;
    for (const auto& i : items_) sorted.push_back(&i);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Item* a, const Item* b) {
      return rank(a->status) > rank(b->status);
    });
    return sorted;
  }

  // The status report() gives: the worst problem's, else skipped when something could not be
  // evaluated, else ok.
  Status status() const {
    Status w = Status::ok;
    for (const auto& i : items_) w = worse(w, i.status);
    if (w == Status::ok && !not_evaluated_.empty()) return Status::skipped;
    return w;
  }

  // Reports through ctx: `ok_summary` when nothing was added.
  void report(Context& ctx, std::string_view ok_summary, const nlohmann::json& details,
              Style style = Style::lead) const {
    nlohmann::json d = details;
    if (!not_evaluated_.empty()) d["not_evaluated"] = not_evaluated_;
    const Status st = status();
    if (st == Status::ok) return ctx.ok(ok_summary, d);
    if (st == Status::skipped)
      return ctx.skip(joined(not_evaluated_, "; ") + " (" + std::string(ok_summary) + ")", d);
    std::string summary = style == Style::lead ? lead_summary(st) : list_summary();
    for (const auto& reason : not_evaluated_) summary += "; not evaluated: " + reason;
    ctx.report(st, summary, style == Style::lead ? lead_remediation() : list_remediation(), d);
  }

 private:
  static std::string joined(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
    return out;
  }
  std::string lead_summary(Status worst) const {
    auto first = std::find_if(items_.begin(), items_.end(),
                              [&](const Item& i) { return i.status == worst; });
    std::string summary = first->summary;
    if (items_.size() > 1)
      summary += " (and " + std::to_string(items_.size() - 1) + " more problem" +
                 (items_.size() > 2 ? "s" : "") + ")";
    return summary;
  }
  std::string lead_remediation() const {
    std::string out;
    for (const auto& i : items_) {
      if (i.remediation.empty()) continue;
      if (!out.empty()) out += "\n";
      out += (items_.size() > 1 ? "- " : "") + i.remediation;
    }
    return out;
  }
  std::string list_summary() const {
    std::vector<std::string> parts;
    for (const Item* i : worst_first()) parts.push_back(i->summary);
    return joined(parts, "; ");
  }
  std::string list_remediation() const {
    std::vector<std::string> seen;
    for (const Item* i : worst_first())
      if (!i->remediation.empty() &&
          std::find(seen.begin(), seen.end(), i->remediation) == seen.end())
        seen.push_back(i->remediation);
    return joined(seen, "\n");
  }

  std::vector<Item> items_;
  std::vector<std::string> not_evaluated_;
};

}  // namespace backup_doctor::sdk
