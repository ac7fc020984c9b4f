// archive.leftovers: the debris of backups that were not written atomically — temporary and
// partial files, zero-length archives, archives without their checksum file — left in the
// backup directories after the job that made them is long gone.
#include "checks.hpp"
#include "target.hpp"

#include <backup_doctor/duration.hpp>
#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>

#include <fnmatch.h>
#include <sys/stat.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>

namespace backup_doctor::archive {

using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

namespace {

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["paths"],
  "properties": {
    "paths": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
      "description": "Backup directories to look in, e.g. [\"/opt/backups/database\", \"/opt/backups/files\"]."},
    "min_age": {"$ref": "bd:duration", "default": "1h",
      "description": "Only files last modified longer ago than this count (a running backup's temporary file is not a leftover). Default 1h."},
    "temp_patterns": {"type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["*.tmp", "*.temp", "*.partial", "*.part", "*.incomplete", "*.filepart", ".*.??????"],
      "description": "Globs (on the base name) of temporary files left by interrupted writes. Default: *.tmp, *.temp, *.partial, *.part, *.incomplete, *.filepart and .*.?????? (rsync's hidden temporary files)."},
    "archive_patterns": {"type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["*.tar", "*.tar.*", "*.tgz", "*.tbz2", "*.txz", "*.tzst", "*.gz", "*.zst", "*.xz", "*.bz2", "*.dump", "*.backup"],
      "description": "Globs of archive files: checked for zero length and for a checksum file."},
    "checksum_suffix": {"type": "string", "minLength": 1, "default": ".sha256",
      "description": "Suffix of checksum files (`NAME.sha256`). Default `.sha256`."},
    "require_checksum": {"enum": ["auto", "always", "never"], "default": "auto",
      "description": "When an archive without a checksum file is a leftover: `auto` (default) in directories where other archives have one (so the job writes them and this one was interrupted), `always`, or `never`."},
    "recursive": {"type": "boolean", "default": true,
      "description": "Also look in subdirectories. Default true."},
    "max_items": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many paths are listed per kind in the details. Default 20."}
  }
})";

const char* kDoc =
    "Looks through the backup directories for what non-atomic writes leave behind: temporary "
    "and partial files older than `min_age`, zero-length archives, archives without their "
    "checksum file, and checksum files whose archive is gone. Nothing is removed; the "
    "remediation lists the exact commands. Zero-length archives fail (a backup run produced "
    "nothing); the others warn.\n\n"
    "The directories are walked without following links (each subdirectory opened relative "
    "to its parent, never through a link); only regular files count. A path in `paths` that "
    "is, or goes through, a link another account could have made fails the check, naming it.";

struct Found {
  std::string path;
  uint64_t size = 0;
  int64_t mtime = 0;
};

struct Kind {
  std::vector<Found> items;
  uint64_t count = 0, bytes = 0;
  void add(Found f, size_t max) {
    ++count;
    bytes += f.size;
    if (items.size() < max) items.push_back(std::move(f));
  }
  nlohmann::json json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : items)
      list.push_back({{"path", f.path}, {"size", f.size}, {"mtime", iso_time(f.mtime)}});
    return {{"count", count}, {"bytes", bytes}, {"items", list}};
  }
};

bool matches_any(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns)
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

std::string quoted_list(const Kind& k, size_t n = 5) {
  std::string out;
  for (size_t i = 0; i < k.items.size() && i < n; ++i) out += " " + shell_quote(k.items[i].path);
  return out;
}

// Per directory: archives, which of them have a checksum, and checksum files.
struct Dir {
  std::vector<Found> archives;
  std::set<std::string> names;
  std::vector<Found> sums;
};

// Every regular file under the directory open on `dir` (named `root`), walked without following
// links (support::walk_tree), handed to `take` with its path.
void scan_directory(int dir, const std::string& root, bool recursive, sdk::Context& ctx,
                    uint64_t& scanned, const std::function<void(const Found&)>& take) {
  const std::string prefix = root.ends_with('/') ? root : root + "/";
  auto visit = [&](const support::WalkEntry& e) {
    if (S_ISDIR(e.st.st_mode)) return recursive;
    if (!S_ISREG(e.st.st_mode)) return false;
    if ((++scanned & 1023) == 0 && ctx.cancelled()) throw sdk::CheckError("cancelled");
    take(Found{prefix + e.relative, static_cast<uint64_t>(e.st.st_size), e.st.st_mtime});
    return false;
  };
  support::walk_tree(dir, visit);
}

// A path in `paths` is, or goes through, a link another account could have made: nothing
// behind it was listed.
void report_refused(const std::vector<support::SafeOpened>& refused, nlohmann::json& details,
                    sdk::Context& ctx) {
  const auto& r = refused.front();
  ctx.fail(r.message + (refused.size() > 1
                            ? " (and " + std::to_string(refused.size() - 1) + " more paths)"
                            : std::string()),
           "backup-doctor runs as root and does not follow a link that another account could "
           "have made into the directories it lists: it could lead anywhere on this host. Set "
           "`paths` to the real backup directories (" +
               shell_quote(r.link_target) +
               ", if that is one), or have root own the link in a directory only root can "
               "change.",
           details);
}

// The parameters, with their defaults, and the modification time before which a file counts.
struct Options {
  std::vector<std::string> temp_patterns;
  std::vector<std::string> archive_patterns;
  std::string suffix;   // of checksum files
  std::string require;  // require_checksum: auto, always, never
  bool recursive = true;
  size_t max_items = 20;
  int64_t cutoff = 0;  // files modified at or before this are old enough to be leftovers
};

Options read_options(const nlohmann::json& params) {
  auto min_age = parse_duration(params.value("min_age", std::string("1h")));
  if (!min_age) throw sdk::CheckError("min_age is not a duration");
  Options o;
  o.temp_patterns = params.value(
      "temp_patterns", std::vector<std::string>{"*.tmp", "*.temp", "*.partial", "*.part",
                                                "*.incomplete", "*.filepart", ".*.??????"});
  o.archive_patterns = params.value(
      "archive_patterns",
      std::vector<std::string>{"*.tar", "*.tar.*", "*.tgz", "*.tbz2", "*.txz", "*.tzst", "*.gz",
                               "*.zst", "*.xz", "*.bz2", "*.dump", "*.backup"});
  o.suffix = params.value("checksum_suffix", std::string(".sha256"));
  o.require = params.value("require_checksum", std::string("auto"));
  o.recursive = params.value("recursive", true);
  o.max_items = params.value("max_items", 20);
  auto now = static_cast<int64_t>(sdk::now_seconds());
  o.cutoff = now - std::chrono::duration_cast<std::chrono::seconds>(*min_age).count();
  return o;
}

// Everything found in all the paths.
struct Leftovers {
  Kind temp, zero, unsummed, orphan_sums;
  std::vector<std::string> missing_dirs;
  uint64_t scanned = 0;
  std::vector<support::SafeOpened> refused;
};

bool has_suffix(const std::string& name, const std::string& suffix) {
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Files one at a time: a temporary file is a leftover as soon as it is old; archives and
// checksum files are kept by directory, to be paired once the directory has been seen whole.
void sort_file(const Found& f, const Options& o, std::map<std::string, Dir>& dirs, Leftovers& out) {
  std::string name = f.path.substr(f.path.find_last_of('/') + 1);
  std::string at = f.path.substr(0, f.path.size() - name.size());
  bool old = f.mtime <= o.cutoff;
  Dir& d = dirs[at];
  d.names.insert(name);
  if (matches_any(name, o.temp_patterns)) {
    if (old) out.temp.add(f, o.max_items);
  } else if (has_suffix(name, o.suffix)) {
    d.sums.push_back(f);
  } else if (matches_any(name, o.archive_patterns)) {
    if (f.size == 0 && old) out.zero.add(f, o.max_items);
    d.archives.push_back(f);
  }
}

// In the directory `at`: old archives without their checksum file (when checksums are wanted
// there), and old checksum files without their archive.
void pair_checksums(const std::string& at, const Dir& d, const Options& o, Leftovers& out) {
  const std::string& suffix = o.suffix;
  size_t with_sum = 0;
  for (const auto& a : d.archives)
    if (d.names.count(a.path.substr(at.size()) + suffix)) ++with_sum;
  bool want = o.require == "always" || (o.require == "auto" && with_sum > 0);
  if (want)
    for (const auto& a : d.archives)
      if (a.size > 0 && a.mtime <= o.cutoff && !d.names.count(a.path.substr(at.size()) + suffix))
        out.unsummed.add(a, o.max_items);
  for (const auto& sum : d.sums) {
    std::string archive_name =
        sum.path.substr(at.size(), sum.path.size() - at.size() - suffix.size());
    if (!d.names.count(archive_name) && sum.mtime <= o.cutoff)
      out.orphan_sums.add(sum, o.max_items);
  }
}

void look_in(const std::string& root, const Options& o, sdk::Context& ctx, Leftovers& out) {
  support::SafeOpened dir = open_named_directory(root);
  if (!dir) {
    if (dir.refusal == support::Refusal::symlink || dir.refusal == support::Refusal::untrusted_link)
      out.refused.push_back(std::move(dir));
    else
      out.missing_dirs.push_back(root);
    return;
  }
  std::map<std::string, Dir> dirs;
  scan_directory(dir.fd.get(), root, o.recursive, ctx, out.scanned,
                 [&](const Found& f) { sort_file(f, o, dirs, out); });
  for (auto& [at, d] : dirs) pair_checksums(at, d, o, out);
}

nlohmann::json leftovers_details(const nlohmann::json& params,
                                 const std::vector<std::string>& paths, const Leftovers& found) {
  nlohmann::json details = {{"paths", paths},
                            {"min_age", params.value("min_age", std::string("1h"))},
                            {"files_scanned", found.scanned},
                            {"temporary_files", found.temp.json()},
                            {"zero_length_archives", found.zero.json()},
                            {"archives_without_checksum", found.unsummed.json()},
                            {"orphan_checksums", found.orphan_sums.json()}};
  if (!found.missing_dirs.empty()) details["missing_paths"] = found.missing_dirs;
  if (!found.refused.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : found.refused)
      list.push_back({{"path", r.where}, {"symlink_target", r.link_target}, {"error", r.message}});
    details["not_followed"] = list;
  }
  return details;
}

void emit_metrics(const Leftovers& found, sdk::Context& ctx) {
  nlohmann::json labels = nlohmann::json::object();
  ctx.metric("archive_leftover_temporary_files", static_cast<double>(found.temp.count), "count",
             labels);
  ctx.metric("archive_leftover_temporary", static_cast<double>(found.temp.bytes), "bytes", labels);
  ctx.metric("archive_leftover_zero_length_archives", static_cast<double>(found.zero.count),
             "count", labels);
  ctx.metric("archive_leftover_archives_without_checksum",
             static_cast<double>(found.unsummed.count), "count", labels);
}

// One kind of leftover, phrased: its part of the summary and of the remediation.
struct Finding {
  std::string part;
  std::string remediation;
};

Finding phrase_zero_length(const Kind& zero) {
  return {.part = std::to_string(zero.count) + " zero-length archive(s) (" +
                  zero.items.front().path + ")",
          .remediation =
              "Zero-length archives mean a backup run created its file and wrote nothing: look "
              "in the job's log at " +
              iso_time(zero.items.front().mtime) +
              " for the failure, make the job write to a temporary name and rename on "
              "success, then remove them so they cannot be mistaken for backups: `rm --" +
              quoted_list(zero) + "`. "};
}

Finding phrase_temporary(const Kind& temp) {
  return {.part = std::to_string(temp.count) + " temporary file(s), " + human_size(temp.bytes) +
                  " (" + temp.items.front().path + ")",
          .remediation =
              "Temporary files this old are left by interrupted writes "
              "and hold " +
              human_size(temp.bytes) +
              ": confirm nothing still writes them "
              "(`fuser" +
              quoted_list(temp) + "` prints nothing), then `rm --" + quoted_list(temp) + "`" +
              (temp.count > temp.items.size() || temp.count > 5 ? " (and the others in the details)"
                                                                : "") +
              ". "};
}

Finding phrase_without_checksum(const Kind& unsummed, const std::string& suffix) {
  const auto& a = unsummed.items.front();
  std::string name = a.path.substr(a.path.find_last_of('/') + 1);
  return {.part = std::to_string(unsummed.count) + " archive(s) without " + suffix + " (" + a.path +
                  ")",
          .remediation =
              "Archives without a checksum were interrupted between writing and "
              "checksumming, or copied without it: verify each (archive.verify) and, if "
              "intact, add the checksum: `cd " +
              shell_quote(a.path.substr(0, a.path.find_last_of('/'))) + " && sha256sum " +
              shell_quote(name) + " > " + shell_quote(name + suffix) + "`. "};
}

Finding phrase_orphan_checksums(const Kind& orphan_sums, const std::string& suffix) {
  return {.part = std::to_string(orphan_sums.count) + " checksum file(s) without their archive (" +
                  orphan_sums.items.front().path + ")",
          .remediation =
              "Checksum files whose archive is gone are left by a rotation that deletes "
              "archives only: make it delete the `" +
              suffix +
              "` with them, and remove "
              "these: `rm --" +
              quoted_list(orphan_sums) + "`. "};
}

// Zero-length archives fail (a run produced nothing); the other leftovers warn.
void report_leftovers(const std::vector<std::string>& paths, const Options& o,
                      const Leftovers& found, const nlohmann::json& details, sdk::Context& ctx) {
  std::vector<Finding> findings;
  if (found.zero.count) findings.push_back(phrase_zero_length(found.zero));
  if (found.temp.count) findings.push_back(phrase_temporary(found.temp));
  if (found.unsummed.count) findings.push_back(phrase_without_checksum(found.unsummed, o.suffix));
  if (found.orphan_sums.count)
    findings.push_back(phrase_orphan_checksums(found.orphan_sums, o.suffix));
  if (findings.empty()) {
    size_t looked_in = paths.size() - found.missing_dirs.size();
    ctx.ok("no leftovers in " + std::to_string(looked_in) + " backup director" +
               (looked_in == 1 ? "y" : "ies") + " (" + std::to_string(found.scanned) + " files)",
           details);
    return;
  }
  std::string summary, remediation;
  for (size_t i = 0; i < findings.size(); ++i) {
    summary += (i ? "; " : "") + findings[i].part;
    remediation += findings[i].remediation;
  }
  if (found.zero.count)
    ctx.fail(summary, remediation, details);
  else
    ctx.warn(summary, remediation, details);
}

void run(const nlohmann::json& params, sdk::Context& ctx) {
  auto paths = params.at("paths").get<std::vector<std::string>>();
  Options o = read_options(params);
  Leftovers found;
  for (const auto& root : paths) look_in(root, o, ctx, found);

  nlohmann::json details = leftovers_details(params, paths, found);
  emit_metrics(found, ctx);
  if (!found.refused.empty()) {
    report_refused(found.refused, details, ctx);
    return;
  }
  if (found.missing_dirs.size() == paths.size()) {
    ctx.fail("none of the backup directories exists: " + found.missing_dirs.front(),
             "Check that the backup storage is mounted and the paths are right.", details);
    return;
  }
  report_leftovers(paths, o, found, details, ctx);
}

}  // namespace

sdk::CheckType leftovers_check() {
  return {
      .type = "archive.leftovers",
      .summary = "Finds temporary, partial and zero-length files and archives without checksums",
      .doc = kDoc,
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::archive
