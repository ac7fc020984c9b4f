#include "reporters/diagnosis_tree.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>

namespace backup_doctor {

int attention_rank(Status s) {
  switch (s) {
    case Status::fail:
      return 4;
    case Status::error:
      return 3;
    case Status::warn:
      return 2;
    case Status::skipped:
      return 1;
    case Status::ok:
      return 0;
  }
  return 0;
}

std::string group_of(const CheckResult& r) {
  if (!r.group.empty()) return r.group;
  return r.tags.empty() ? std::string(kDefaultGroup) : r.tags.front();
}

namespace {

// A finding: what a consequence can hang under. A skipped check found nothing (except for the
// checks its skip made skip, which go under it by their need).
bool is_finding(Status s) {
  return s == Status::warn || s == Status::fail || s == Status::error;
}

// `inner`'s parameters are all in `outer`, with equal values.
bool parameters_within(const std::map<std::string, size_t>& inner,
                       const std::map<std::string, size_t>& outer) {
  for (const auto& [key, hash] : inner) {
    auto it = outer.find(key);
    if (it == outer.end() || it->second != hash) return false;
  }
  return true;
}

class TreeBuilder {
 public:
  explicit TreeBuilder(const std::vector<CheckResult>& results) : results_(results) {
    for (size_t i = 0; i < results.size(); ++i) {
      index_.emplace(results[i].id, i);
      groups_.push_back(group_of(results[i]));
    }
    tree_.cause.resize(results.size());
    tree_.cause_kind.resize(results.size(), CauseKind::none);
    tree_.consequences.resize(results.size());
  }

  DiagnosisTree build() {
    // Declared causes first, so that inference only fills in what the checklist did not say.
    for (size_t i = 0; i < results_.size(); ++i) {
      tree_.cause[i] = declared_cause(i);
      if (tree_.cause[i]) tree_.cause_kind[i] = CauseKind::declared;
    }
    break_cycles();
    for (size_t i = 0; i < results_.size(); ++i)
      if (!tree_.cause[i]) attach(i, inferred_cause(i), CauseKind::inferred);
    for (size_t i = 0; i < results_.size(); ++i)
      if (tree_.cause[i]) tree_.consequences[*tree_.cause[i]].push_back(i);
    for (auto& children : tree_.consequences) sort_worst_first(children);
    make_groups();
    return std::move(tree_);
  }

 private:
  std::optional<size_t> find(const std::string& id) const {
    auto it = index_.find(id);
    return it == index_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }

  // A validated checklist has no cycles over needs and after, but results built otherwise need
  // not come from one: each cycle is cut where the walk that found it entered it. Linear: every
  // result is walked through once.
  void break_cycles() {
    constexpr size_t kUnseen = SIZE_MAX;
    std::vector<size_t> walk(results_.size(), kUnseen);  // the walk that reached a result first
    for (size_t start = 0; start < results_.size(); ++start) {
      size_t n = start;
      while (walk[n] == kUnseen) {
        walk[n] = start;
        if (!tree_.cause[n]) break;
        size_t next = *tree_.cause[n];
        if (walk[next] == start) {  // back on this walk's own path: a cycle
          tree_.cause[n].reset();
          tree_.cause_kind[n] = CauseKind::none;
          break;
        }
        n = next;
      }
    }
  }

  // True when hanging `child` under `parent` would make it its own ancestor.
  bool would_cycle(size_t child, size_t parent) const {
    for (std::optional<size_t> p = parent; p; p = tree_.cause[*p])
      if (*p == child) return true;
    return false;
  }

  void attach(size_t child, std::optional<size_t> parent, CauseKind kind) {
    if (!parent || *parent == child || would_cycle(child, *parent)) return;
    tree_.cause[child] = parent;
    tree_.cause_kind[child] = kind;
  }

  // A skip goes under the need it names; any other problem under its first direct prerequisite
  // (needs, then after) that found something.
  std::optional<size_t> declared_cause(size_t i) const {
    const CheckResult& r = results_[i];
    if (r.status == Status::ok) return std::nullopt;
    if (r.status == Status::skipped && r.details.is_object() && r.details.contains("blocked_by") &&
        r.details["blocked_by"].is_array())
      for (const auto& id : r.details["blocked_by"])
        if (id.is_string())
          if (auto j = find(id.get<std::string>())) return j;
    for (const auto* list : {&r.needs, &r.after})
      for (const auto& id : *list)
        if (auto j = find(id); j && *j != i && is_finding(results_[*j].status)) return j;
    return std::nullopt;
  }

  // An error the checklist gives no cause for, when a check of the same group and plugin failed
  // (or erred, earlier in the checklist) with parameters that are all among this one's: the same
  // server or path, most likely unreachable for both. The earliest such check in checklist order.
  std::optional<size_t> inferred_cause(size_t i) const {
    const CheckResult& r = results_[i];
    // A check that could not start for want of a secret has its cause in its own text.
    if (r.status != Status::error || r.unconfigured) return std::nullopt;
    for (size_t j = 0; j < results_.size(); ++j) {
      const CheckResult& c = results_[j];
      if (j == i || groups_[j] != groups_[i] || c.plugin != r.plugin) continue;
      // Of errors with the same cause, the first in the checklist stands for the others.
      if (c.status != Status::fail && (c.status != Status::error || j > i)) continue;
      // No parameters in common is no evidence.
      if (c.param_fingerprint.empty() ||
          !parameters_within(c.param_fingerprint, r.param_fingerprint))
        continue;
      if (!would_cycle(i, j)) return j;
    }
    return std::nullopt;
  }

  void sort_worst_first(std::vector<size_t>& items) const {
    std::stable_sort(items.begin(), items.end(), [&](size_t a, size_t b) {
      int ra = attention_rank(results_[a].status), rb = attention_rank(results_[b].status);
      return ra != rb ? ra > rb : a < b;
    });
  }

  // The worst status of the tree under `root`, and where it starts in the checklist: its
  // first problem (its first result when all are ok). Iterative, as a chain of skips can be as
  // long as the checklist.
  std::pair<Status, size_t> subtree_summary(size_t root) const {
    Status worst = results_[root].status;
    size_t first = SIZE_MAX, first_any = SIZE_MAX;
    std::vector<size_t> pending{root};
    while (!pending.empty()) {
      size_t n = pending.back();
      pending.pop_back();
      if (attention_rank(results_[n].status) > attention_rank(worst)) worst = results_[n].status;
      first_any = std::min(first_any, n);
      if (results_[n].status != Status::ok) first = std::min(first, n);
      pending.insert(pending.end(), tree_.consequences[n].begin(), tree_.consequences[n].end());
    }
    return {worst, first == SIZE_MAX ? first_any : first};
  }

  void make_groups() {
    std::vector<size_t> roots;
    for (size_t i = 0; i < results_.size(); ++i)
      if (!tree_.cause[i]) roots.push_back(i);
    sort_worst_first(roots);
    std::map<std::string, size_t> position;  // group name -> index in tree_.groups
    std::vector<size_t> first_result;
    for (size_t root : roots) {
      auto [it, fresh] = position.emplace(groups_[root], tree_.groups.size());
      if (fresh) {
        tree_.groups.push_back({groups_[root], Status::ok, {}});
        first_result.push_back(root);
      }
      DiagnosisGroup& g = tree_.groups[it->second];
      g.roots.push_back(root);
      auto [worst, first] = subtree_summary(root);
      size_t& group_first = first_result[it->second];
      // Ties between groups go to the one whose worst problem comes first in the checklist.
      if (attention_rank(worst) > attention_rank(g.worst) ||
          (worst == g.worst && first < group_first)) {
        g.worst = worst;
        group_first = first;
      }
    }
    std::vector<size_t> order(tree_.groups.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      int ra = attention_rank(tree_.groups[a].worst), rb = attention_rank(tree_.groups[b].worst);
      return ra != rb ? ra > rb : first_result[a] < first_result[b];
    });
    std::vector<DiagnosisGroup> sorted;
    for (size_t k : order) sorted.push_back(std::move(tree_.groups[k]));
    tree_.groups = std::move(sorted);
  }

  const std::vector<CheckResult>& results_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> groups_;  // group_of() each result
  DiagnosisTree tree_;
};

}  // namespace

DiagnosisTree build_diagnosis_tree(const RunReport& report) {
  return TreeBuilder(report.results).build();
}

}  // namespace backup_doctor
