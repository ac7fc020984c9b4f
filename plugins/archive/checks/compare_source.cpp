// archive.compare_source: the archive's manifest against the live source tree. The guide counts
// files on both sides; this matches them by path, so it names which files are missing, which
// appeared or vanished since the archive was written, and which differ in size or time.
#include "checks.hpp"
#include "manifest.hpp"
#include "scan.hpp"
#include "target.hpp"

#include <backup_doctor/text.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace backup_doctor::archive {

using sdk::iso_time;
using sdk::shell_quote;

namespace {

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "source"],
  "properties": {
    "path": {"$ref": "bd:target_path"},
    "pattern": {"$ref": "bd:target_pattern", "description": "Glob for the file name when `path` is a directory. Default `*`. Checksum files (`*.sha256`), temporary files (`*.tmp`, `*.partial`, `*.part`) and dot files are never chosen unless the pattern asks for them."},
    "source": {"type": "string", "minLength": 1,
      "description": "The live directory the archive was made from, e.g. `/opt/trixtech`."},
    "archive_prefix": {"type": "string",
      "description": "Directory inside the archive that corresponds to `source`. Default: detected from the first entry — `source` without its leading slash (`tar -czf x /opt/trixtech` stores `opt/trixtech/...`), else the base name of `source`, else the archive root (`tar -C /opt/trixtech -czf x .`). Set it (\"\" for the root) when detection guesses wrong."},
    "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
      "description": "Globs of paths the backup deliberately leaves out, matched against the path relative to `source` and against the base name (`*.log`, `cache/*`). Applied to both sides."},
    "one_file_system": {"type": "boolean", "default": false,
      "description": "Do not descend into other filesystems under `source` (like `tar --one-file-system`). Default false."},
    "max_not_in_archive": {"type": "integer", "minimum": 0, "default": 0,
      "description": "How many source files older than the archive may be missing from it before the check fails; up to this many only warn (they are still listed). Default 0: any such file fails."},
    "warn_changed_percent": {"type": "number", "minimum": 0, "default": 25,
      "description": "Warn when more than this percentage of the source's files were added, removed or changed since the archive was written (the archive is getting stale). Default 25."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many paths are listed per kind of difference in the details (counts are always complete). Default 20."}
  }
})";

const char* kDoc =
    "Reads the archive's entry list in one streaming pass (no extraction) and walks the source "
    "tree, then matches the two by path: files missing from the archive although older than it "
    "(the backup skipped them: fails), files added since the archive was written (no backup holds "
    "them yet: warns, whatever their share), files removed or changed since (expected churn), "
    "and files whose archived size differs although they have not changed "
    "since (a copy taken while the file was being written, or a damaged archive). Regular files "
    "only, like the guide's `find -type f` count. Sorted arrays and one merge pass: a tree of a "
    "million files takes seconds and about 140 bytes of memory per file.\n\n"
    "The source tree is walked without following links: each directory is opened relative to "
    "its parent with O_NOFOLLOW and checked to be the one listed, so a link in the tree (or a "
    "directory swapped for one during the walk) is never entered; `source` itself is followed "
    "through a link only when root made the link where only root can change it. The archive "
    "is opened as archive.verify opens it.";

std::string files(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " file" : " files");
}

nlohmann::json items_json(const Category& c) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : c.items) {
    nlohmann::json j = {{"path", d.path}};
    if (d.archive_size >= 0) j["archive_size"] = d.archive_size;
    if (d.source_size >= 0) j["source_size"] = d.source_size;
    if (d.archive_size >= 0) j["archive_mtime"] = iso_time(d.archive_mtime);
    if (d.source_size >= 0) j["source_mtime"] = iso_time(d.source_mtime);
    list.push_back(j);
  }
  return {{"count", c.count}, {"items", list}};
}

std::string examples(const Category& c, size_t n = 3) {
  std::string out;
  for (size_t i = 0; i < c.items.size() && i < n; ++i) out += (i ? ", " : "") + c.items[i].path;
  if (c.count > n) out += ", ...";
  return out;
}

// Up to `n` paths of a category for the summary, then how many more: "a, b, c, d, e and 2 more".
std::string names(const Category& c, size_t n = 5) {
  std::string out;
  size_t shown = std::min(n, c.items.size());
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + c.items[i].path;
  if (c.count > shown) out += (shown ? " and " : "") + std::to_string(c.count - shown) + " more";
  return out;
}

// The source tree could not be opened: missing or not a directory (an error in the checklist),
// or reached through a link that another account could have made (not followed).
void report_source_refused(const std::string& source, const support::SafeOpened& refused,
                           sdk::Context& ctx) {
  if (refused.refusal != support::Refusal::symlink &&
      refused.refusal != support::Refusal::untrusted_link)
    throw sdk::CheckError("source " + source + " is not a directory (" + refused.message + ")");
  nlohmann::json details = {{"source", source},
                            {"error", refused.message},
                            {"symlink", refused.where},
                            {"symlink_target", refused.link_target}};
  ctx.fail("source " + refused.message,
           "backup-doctor runs as root and does not follow a link that another account could "
           "have made into the tree it lists: it could lead anywhere on this host, and the "
           "comparison would name what it found there. Set `source` to the real directory (" +
               shell_quote(refused.link_target) +
               ", if that is where the application lives), or have root own the link in a "
               "directory only root can change.",
           details);
}

// Candidate prefixes: the source path's trailing components, longest first
// ("srv/opt/trixtech", "opt/trixtech", "trixtech"), as `tar -C <some ancestor>` stores them.
std::vector<std::string> prefix_candidates(const std::string& source) {
  std::vector<std::string> candidates;
  std::vector<std::string> parts;
  for (const auto& part : std::filesystem::path(source))
    if (part != "/" && !part.empty()) parts.push_back(part.string());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string c;
    for (size_t j = i; j < parts.size(); ++j) c += (c.empty() ? "" : "/") + parts[j];
    candidates.push_back(c);
  }
  return candidates;
}

// The `archive_prefix` parameter, normalised as entry names are; unset when it is to be
// detected from the first entry.
std::optional<std::string> prefix_param(const nlohmann::json& params) {
  if (!params.contains("archive_prefix")) return std::nullopt;
  std::string p = params["archive_prefix"].get<std::string>();
  std::string normalized;
  return normalize_member(p, "", normalized) ? normalized : std::string();
}

// The archive's regular files (and hard links), named relative to the prefix that corresponds
// to `source`, gathered from one streaming read.
struct ArchiveListing {
  Manifest files;
  std::optional<std::string> prefix;
  uint64_t outside_prefix = 0;  // entries whose name is not under the prefix
  std::string name;             // scratch for the normalised name, reused for every entry
};

// The first entry with a name decides the prefix: the longest candidate it lies under, else the
// archive root.
std::string detect_prefix(std::string_view normalized, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (normalized == c || normalized.starts_with(c + "/")) return c;
  return std::string();
}

void list_entry(const EntryInfo& e, const std::vector<std::string>& candidates,
                const std::vector<std::string>& exclude, ArchiveListing& out) {
  if (!out.prefix) {
    std::string n;
    if (!normalize_member(e.path, "", n)) return;  // "./": decide on the next entry
    out.prefix = detect_prefix(n, candidates);
  }
  if (e.type != EntryType::file && e.type != EntryType::hardlink) return;
  if (!normalize_member(e.path, *out.prefix, out.name)) {
    ++out.outside_prefix;
    return;
  }
  if (excluded(out.name, exclude)) return;
  out.files.add(out.name, e.size, e.mtime, e.type == EntryType::hardlink ? Manifest::kHardlink : 0);
}

// Lists the archive into `listing` (whose prefix may already be set); the scan says whether it
// was damaged.
ScanResult list_archive(Target& target, const std::string& source,
                        const std::vector<std::string>& exclude, ArchiveListing& listing,
                        sdk::Context& ctx) {
  std::vector<std::string> candidates = prefix_candidates(source);
  ScanOptions options;
  options.hash = false;
  options.cancelled = [&ctx] { return ctx.cancelled(); };
  options.on_entry = [&](const EntryInfo& e) { list_entry(e, candidates, exclude, listing); };
  ScanResult scan = scan_archive(std::move(target.file), target.path, options);
  if (scan.walk.cancelled) throw sdk::CheckError("cancelled while reading " + target.path);
  listing.files.sort();
  return scan;
}

SourceWalkResult list_source(const nlohmann::json& params, const support::SafeOpened& source_dir,
                             const std::string& source, const std::vector<std::string>& exclude,
                             Manifest& source_files, sdk::Context& ctx) {
  SourceWalkOptions walk_options;
  walk_options.exclude = exclude;
  walk_options.one_file_system = params.value("one_file_system", false);
  walk_options.cancelled = [&ctx] { return ctx.cancelled(); };
  SourceWalkResult walked = walk_source(source_dir.fd.get(), source, walk_options, source_files);
  if (walked.cancelled) throw sdk::CheckError("cancelled while walking " + source);
  return walked;
}

// Both sides gathered and matched: what the verdict and its messages are made from.
struct Compared {
  const std::string& archive;  // the archive's path
  const std::string& source;
  const ArchiveListing& listing;
  const Manifest& source_files;
  const ScanResult& scan;
  Comparison c;
  uint64_t churn = 0;  // added, removed or changed since the archive was written
  double churn_percent = 0;
};

// Every source file the archive lacks, older than it or added since: the count, and the names
// kept (the first max_items).
nlohmann::json missing_details(const Comparison& c, size_t max_items) {
  std::vector<std::string> paths;
  for (const Category* kind : {&c.not_in_archive, &c.added_since})
    for (const auto& d : kind->items) paths.push_back(d.path);
  return {{"count", c.not_in_archive.count + c.added_since.count},
          {"items", sdk::capped(paths, max_items)}};
}

nlohmann::json comparison_details(const Compared& k, const SourceWalkResult& walked,
                                  size_t max_items) {
  const Comparison& c = k.c;
  nlohmann::json details = {{"archive", k.archive},
                            {"archive_mtime", iso_time(k.scan.mtime)},
                            {"source", k.source},
                            {"archive_prefix", k.listing.prefix.value_or("")},
                            {"archive_files", k.listing.files.size()},
                            {"source_files", k.source_files.size()},
                            {"matched", c.matched},
                            {"not_in_archive", items_json(c.not_in_archive)},
                            {"added_since", items_json(c.added_since)},
                            {"removed_since", items_json(c.removed_since)},
                            {"changed_since", items_json(c.changed_since)},
                            {"size_mismatch", items_json(c.size_mismatch)},
                            {"mtime_mismatch", items_json(c.mtime_mismatch)},
                            {"changed_percent", k.churn_percent},
                            {"missing_from_archive", missing_details(c, max_items)}};
  if (k.listing.outside_prefix) details["entries_outside_prefix"] = k.listing.outside_prefix;
  if (walked.unreadable) {
    details["unreadable_source_dirs"] = walked.unreadable;
    details["unreadable_samples"] = walked.unreadable_samples;
  }
  return details;
}

void emit_metrics(const Compared& k, const nlohmann::json& labels, sdk::Context& ctx) {
  ctx.metric("archive_compare_source_files", static_cast<double>(k.source_files.size()), "count",
             labels);
  ctx.metric("archive_compare_archive_files", static_cast<double>(k.listing.files.size()), "count",
             labels);
  ctx.metric("archive_compare_not_in_archive", static_cast<double>(k.c.not_in_archive.count),
             "count", labels);
  ctx.metric("archive_compare_added_since", static_cast<double>(k.c.added_since.count), "count",
             labels);
  ctx.metric("archive_compare_size_mismatch", static_cast<double>(k.c.size_mismatch.count), "count",
             labels);
  ctx.metric("archive_compare_changed_since", static_cast<double>(k.churn), "count", labels);
}

struct Message {
  std::string summary;
  std::string remediation;
};

// One difference, phrased: its clause of the summary and its part of the remediation.
struct Finding {
  std::string clause;
  std::string remediation;
};

Message join_findings(const std::string& counts, const std::vector<Finding>& findings) {
  Message m{.summary = counts + ":", .remediation = ""};
  for (size_t i = 0; i < findings.size(); ++i) {
    m.summary += std::string(i ? ";" : "") + " " + findings[i].clause;
    m.remediation += findings[i].remediation;
  }
  return m;
}

// Files older than the archive yet not in it: the backup skipped them. `tolerated` when they
// are within `max_not_in_archive`.
Finding phrase_not_in_archive(const Compared& k, int64_t tolerated) {
  const Category& missing = k.c.not_in_archive;
  std::string within = tolerated > 0
                           ? " (within max_not_in_archive " + std::to_string(tolerated) + ")"
                           : std::string();
  std::string excuse = tolerated > 0
                           ? "They are within `max_not_in_archive` (" + std::to_string(tolerated) +
                                 "), so this only warns: have the backup include them or add them "
                                 "to `exclude`, then "
                                 "lower the tolerance. "
                           : std::string();
  return {
      .clause = files(missing.count) + " older than the archive " +
                (missing.count == 1 ? "is" : "are") + " not in it" + within + ": " + names(missing),
      .remediation =
          "The backup skipped " + files(missing.count) +
          " that existed when it ran: check the job's exclude list and its log "
          "at " +
          iso_time(k.scan.mtime) +
          " for 'Permission denied' or 'Cannot open', and that the backup user can read "
          "them (e.g. `sudo -u backup test -r " +
          shell_quote(k.source + "/" + missing.items.front().path) +
          " && echo readable`). If they are excluded on purpose, add them to `exclude`. " + excuse};
}

// Files created or copied in after the archive was written: no backup holds them yet.
Finding phrase_added_since(const Compared& k) {
  const Category& added = k.c.added_since;
  return {.clause = files(added.count) + " added since the archive was written " +
                    (added.count == 1 ? "is" : "are") + " not in it yet: " + names(added),
          .remediation =
              "A restore from this archive (" + iso_time(k.scan.mtime) + ") would lose " +
              files(added.count) + " written after it, e.g. " +
              shell_quote(k.source + "/" + added.items.front().path) +
              ". If they matter before the next scheduled run, run the backup job now; if the "
              "archive should be newer, check that the job still runs on schedule and "
              "finishes. If they are never meant to be backed up, add them to `exclude`. "};
}

Finding phrase_size_mismatch(const Compared& k) {
  const Category& resized = k.c.size_mismatch;
  const auto& d = resized.items.front();
  return {.clause = files(resized.count) +
                    " with a different size in the archive although unchanged since (" +
                    examples(resized) + ")",
          .remediation =
              "The archived copies of " + files(resized.count) +
              " differ in size from files that have not changed since (e.g. " + d.path + ": " +
              std::to_string(d.archive_size) + " bytes archived, " + std::to_string(d.source_size) +
              " in the source): they were being written while tar read them. Back up from "
              "a snapshot (LVM, ZFS, or the application's own dump) or while the "
              "application is stopped, and check the archive with archive.verify. "};
}

Finding phrase_mtime_mismatch(const Compared& k) {
  const Category& retimed = k.c.mtime_mismatch;
  const auto& d = retimed.items.front();
  const std::optional<std::string>& prefix = k.listing.prefix;
  std::string member = (prefix && !prefix->empty() ? *prefix + "/" : std::string()) + d.path;
  return {.clause = files(retimed.count) +
                    " with another modification time than the archived copy (" + examples(retimed) +
                    ")",
          .remediation =
              "Same size but a different time, and not modified since the archive was "
              "written: they were touched or restored with an older time, or rewritten "
              "during the backup. Compare one: `tar -xOf " +
              shell_quote(k.archive) + " " + shell_quote(member) + " | cmp - " +
              shell_quote(k.source + "/" + d.path) + "`. "};
}

Finding phrase_churn(const Compared& k) {
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.0f%%", k.churn_percent);
  return {.clause = std::string(pct) + " of the files changed since the archive was written (" +
                    std::to_string(k.c.added_since.count) + " added, " +
                    std::to_string(k.c.removed_since.count) + " removed, " +
                    std::to_string(k.c.changed_since.count) + " changed)",
          .remediation = std::string("The archive (") + iso_time(k.scan.mtime) +
                         ") no longer reflects the source: a restore would lose " + pct +
                         " of the changes. Check that the backup job still runs on schedule and "
                         "finishes (its log and the archive dates)."};
}

// The archive could only be listed up to its damage: the comparison is partial.
void report_damaged(const Compared& k, nlohmann::json& details, sdk::Context& ctx) {
  const WalkResult& w = k.scan.walk;
  details["damage"] = w.damage->to_json();
  details["partial"] = true;
  ctx.fail("cannot compare fully: " + k.archive + " is damaged (" + w.damage->message + ") after " +
               std::to_string(w.before_damage.entries) + " entries",
           "Only the entries before the damage could be listed, so the differences in the "
           "details are incomplete. Run archive.verify on " +
               k.archive + " for the damage report, and take a new backup.",
           details);
}

void report_wrong_prefix(const Compared& k, const nlohmann::json& details, sdk::Context& ctx) {
  ctx.report(sdk::Status::error,
             "no archive entry lies under the prefix '" + k.listing.prefix.value_or("") + "'",
             "Set `archive_prefix` to the directory inside the archive that holds the files "
             "of " +
                 k.source + " (list it with `tar -tf " + shell_quote(k.archive) + " | head`).",
             details);
}

// Fails on what the backup did not capture (files missing, or archived while being written);
// warns on what only makes it stale (files added since, retimed files, churn) and on missing
// files within an explicit `max_not_in_archive`. Every file the archive lacks is a finding.
void classify_differences(const nlohmann::json& params, const Compared& k,
                          std::vector<Finding>& failures, std::vector<Finding>& warnings) {
  const Comparison& c = k.c;
  int64_t max_missing = params.value("max_not_in_archive", 0);
  if (static_cast<int64_t>(c.not_in_archive.count) > max_missing)
    failures.push_back(phrase_not_in_archive(k, 0));
  else if (c.not_in_archive.count > 0)
    warnings.push_back(phrase_not_in_archive(k, max_missing));
  if (c.size_mismatch.count > 0) failures.push_back(phrase_size_mismatch(k));
  if (c.added_since.count > 0) warnings.push_back(phrase_added_since(k));
  if (c.mtime_mismatch.count > 0) warnings.push_back(phrase_mtime_mismatch(k));
  if (k.churn_percent > params.value("warn_changed_percent", 25.0))
    warnings.push_back(phrase_churn(k));
}

void report_verdict(const nlohmann::json& params, const Compared& k, nlohmann::json& details,
                    sdk::Context& ctx) {
  std::string counts = std::to_string(k.source_files.size()) + " source files vs " +
                       std::to_string(k.listing.files.size()) + " in " + k.archive;
  if (k.scan.walk.damage) {
    report_damaged(k, details, ctx);
    return;
  }
  if (k.listing.files.size() == 0 && k.source_files.size() > 0 && k.listing.outside_prefix > 0) {
    report_wrong_prefix(k, details, ctx);
    return;
  }
  std::vector<Finding> failures, warnings;
  classify_differences(params, k, failures, warnings);
  if (!failures.empty() || !warnings.empty()) {
    sdk::Status status = failures.empty() ? sdk::Status::warn : sdk::Status::fail;
    failures.insert(failures.end(), warnings.begin(), warnings.end());
    Message m = join_findings(counts, failures);
    ctx.report(status, m.summary, m.remediation, details);
    return;
  }
  ctx.ok(counts + ": " + std::to_string(k.c.matched) + " match; " +
             std::to_string(k.c.removed_since.count) + " removed, " +
             std::to_string(k.c.changed_since.count) + " changed since the archive was written",
         details);
}

void run(const nlohmann::json& params, sdk::Context& ctx) {
  TargetSpec spec = target_spec(params);
  std::string source = params.at("source").get<std::string>();
  while (source.size() > 1 && source.back() == '/') source.pop_back();
  size_t max_items = params.value("max_items", 20);
  std::vector<std::string> exclude = params.value("exclude", std::vector<std::string>{});

  Target target = resolve_target(spec);
  if (report_unusable(target, "no archive to compare",
                      "The backup job has not produced an archive at " + spec.path +
                          ": run archive.verify on the same path for details.",
                      {{"path", spec.path}}, ctx))
    return;
  support::SafeOpened source_dir = open_named_directory(source);
  if (!source_dir) {
    report_source_refused(source, source_dir, ctx);
    return;
  }
  // Entry names are normalised once the prefix is known, which the first entry decides.
  ArchiveListing listing;
  listing.prefix = prefix_param(params);
  ScanResult scan = list_archive(target, source, exclude, listing, ctx);
  Manifest source_files;
  SourceWalkResult walked = list_source(params, source_dir, source, exclude, source_files, ctx);

  Comparison c = compare_manifests(listing.files, source_files, scan.mtime, max_items);
  uint64_t churn = c.added_since.count + c.removed_since.count + c.changed_since.count;
  Compared k{.archive = target.path,
             .source = source,
             .listing = listing,
             .source_files = source_files,
             .scan = scan,
             .c = std::move(c),
             .churn = churn,
             .churn_percent = 100.0 * static_cast<double>(churn) /
                              static_cast<double>(std::max<size_t>(1, source_files.size()))};
  nlohmann::json details = comparison_details(k, walked, max_items);
  emit_metrics(k, {{"target", spec.path}, {"source", source}}, ctx);
  report_verdict(params, k, details, ctx);
}

}  // namespace

sdk::CheckType compare_source_check() {
  return {.type = "archive.compare_source",
          .summary =
              "Compares an archive's file list with the live source tree (missing, extra, changed)",
          .doc = kDoc,
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::archive
