// archive.verify: decompression integrity, tar structure, every entry read to its end and the
// file's SHA-256 against its checksum, all in one read of the file; on damage, where it is and
// what can still be recovered.
#include "checks.hpp"
#include "content_sniff.hpp"
#include "scan.hpp"
#include "sidecar.hpp"
#include "target.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/text.hpp>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace backup_doctor::archive {

using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

namespace {

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"$ref": "bd:target_path"},
    "pattern": {"$ref": "bd:target_pattern", "description": "Glob for the file name when `path` is a directory. Default `*`. Checksum files (`*.sha256`), temporary files (`*.tmp`, `*.partial`, `*.part`) and dot files are never chosen unless the pattern asks for them."},
    "format": {"enum": ["auto", "tar", "raw"], "default": "auto",
      "description": "What is inside the compression. `tar`: a tar archive whose entries are walked. `raw`: a single compressed stream such as a `.sql.gz` dump (only the compression and checksum are verified). `auto` (default): tar when the file name says so (`.tar`, `.tar.*`, `.tgz`, ...), otherwise whatever libarchive recognises, else raw."},
    "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
      "description": "Expected SHA-256 of the archive file (hex). When given, no checksum file is read."},
    "sidecar": {"type": "string", "minLength": 1,
      "description": "Checksum file in `sha256sum` format (`<hex>  name` or `<hex> *name`; `SHA256 (name) = <hex>` is accepted too). Default: the archive path plus `.sha256`, when that file exists."},
    "require_checksum": {"type": "boolean", "default": false,
      "description": "Fail when there is no checksum to compare with (no `sha256` parameter and no checksum file). Default false: the archive is still verified and its SHA-256 reported."},
    "min_entries": {"type": "integer", "minimum": 0, "default": 1,
      "description": "Fail when a tar archive holds fewer complete entries than this (an archive of the wrong or an empty directory). Default 1."},
    "gzip_engine": {"enum": ["isal", "libarchive"], "default": "isal",
      "description": "Inflater for gzip: `isal` (default; Intel ISA-L, several times faster than zlib) or `libarchive` (zlib), for comparison."},
    "max_warnings": {"type": "integer", "minimum": 1, "default": 20,
      "description": "At most this many libarchive warnings are listed in the details. Default 20."}
  }
})";

const char* kDoc =
    "Reads the archive once, front to back, and checks everything a restore depends on: the "
    "compression layer (gzip CRC-32 and length of every member, concatenated members as pigz "
    "and `cat` produce them, zstd/xz/bzip2 frame checks, truncation), every tar header, every "
    "entry read to its end, the end-of-archive marker, and the SHA-256 of the file against its "
    "checksum file. gzip is inflated with ISA-L and hashed on a second thread, so the whole "
    "check takes less time than `gzip -t` alone. Memory stays constant whatever the archive "
    "size; the file is opened read-only and never modified (not even its access time when the "
    "kernel allows O_NOATIME).\n\n"
    "On damage it reports the compressed byte offset, the last good entry and how many entries "
    "(and bytes) are recoverable before it, and after it when only a tar header is damaged, "
    "without extracting anything: the entries GNU tar gets from the same file, which reads it "
    "through `xz -d` or `bzip2 -d` (for compressions libarchive decodes, such as zstd, a lower "
    "bound, and said to be one). Whether the damaged file still matches its checksum tells a "
    "backup that was written broken from one that broke later.\n\n"
    "Backup directories belong to the backup account, so nothing it could plant there is "
    "followed or opened: the newest match is picked from `lstat` facts among regular files "
    "only, never a checksum file (`*.sha256`), a temporary file (`*.tmp`, `*.partial`, "
    "`*.part`) or a dot file unless `pattern` asks for one (a symbolic link, whatever it points "
    "to, is never chosen; a FIFO or a device never "
    "opened), and the archive and its checksum file are opened only when they are regular "
    "files. A link, FIFO or device given as `path` or `sidecar` fails the check, named with "
    "its target or type; one newer than the archive verified is a warning.";

std::string type_name(const WalkResult& w) {
  std::ostringstream s;
  s << sdk::count_of(w.complete.entries, "entry", "entries");
  if (w.complete.entries > 0) {
    s << " (" << sdk::count_of(w.files, "file", "files");
    if (w.directories) s << ", " << sdk::count_of(w.directories, "directory", "directories");
    if (w.symlinks) s << ", " << sdk::count_of(w.symlinks, "symlink", "symlinks");
    if (w.hardlinks) s << ", " << sdk::count_of(w.hardlinks, "hard link", "hard links");
    if (w.others) s << ", " << w.others << " other";
    s << ")";
  }
  return s.str();
}

std::string quoted_last(const EntryTally& t) {
  return t.last_entry.empty() ? std::string("(none)") : "'" + t.last_entry + "'";
}

// Says what the checksum comparison means for damage found in the file.
std::string checksum_clause(const Checksum& c, const std::optional<bool>& match,
                            const std::string& kind) {
  if (!match) return "";
  bool truncation = kind == "truncated" || kind == "tar_truncated";
  if (*match) {
    if (truncation)
      return "Its checksum matches this damaged file, so the checksum was taken after the damage: "
             "the backup job itself wrote the file short (look in its log for a killed process, a "
             "full disk or a timeout at the time of the run). ";
    return "Its checksum matches this damaged file, so the damage was already there when the "
           "checksum was taken: the backup run itself produced it (failing memory, a crashed "
           "compressor, or a source read error). ";
  }
  std::string where = c.source == "param" ? "the expected digest" : c.sidecar;
  if (truncation)
    return "It no longer matches " + where +
           ", so it was complete when checksummed and lost its end afterwards (an interrupted "
           "copy, "
           "sync or upload): fetch it again from the copy it was made from. ";
  return "It no longer matches " + where +
         ", so its bytes changed after the checksum was taken: check `dmesg` and `smartctl -a` for "
         "I/O errors on the device holding it, and restore from another copy. ";
}

nlohmann::json not_considered_json(const Target& t) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : t.not_considered) {
    nlohmann::json j = {{"path", n.path}, {"type", n.type}};
    if (!n.link_target.empty()) j["symlink_target"] = n.link_target;
    list.push_back(j);
  }
  return list;
}

// A checksum file that is a link, a FIFO, a device or a suspicious hard link: not rewritten
// through (`sha256sum > link` as root would write wherever the link points).
bool checksum_refused(const Checksum& c) {
  return c.refusal == support::Refusal::symlink || c.refusal == support::Refusal::wrong_type ||
         c.refusal == support::Refusal::hard_link || c.refusal == support::Refusal::untrusted_link;
}

// A file whose name promises a compression must start with it. Looked at before anything else
// is read: libarchive takes unknown bytes for an uncompressed stream, which would make random
// data, a JPEG or 5 GB of zeros "intact". True when it reported.
bool report_misnamed(int fd, const std::string& path, sdk::Context& ctx,
                     const nlohmann::json& labels) {
  std::string named = compression_named(path);
  if (named.empty()) return false;
  std::string head(4096, '\0');
  ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  if (n < 0) throw sdk::CheckError("cannot read " + path + ": " + sdk::errno_text(errno));
  head.resize(static_cast<size_t>(n));
  if (head.empty()) return false;  // the empty file has its own finding
  Sniffed found = sniff(head);
  if (found.compression == named) return false;
  std::string q = shell_quote(path);
  ctx.metric("archive_damaged", 1, "", labels);
  std::string what = found.compression.empty() ? found.looks_like : found.compression + " data";
  std::string remediation =
      found.compression.empty()
          ? "This is not a backup in the format its name says, so nothing in it can be verified. "
            "Look at what it is (`file " +
                q + "`, `head -c 200 " + q +
                " | od -c`), then at the backup job: a compressor that was not run, or whose "
                "output went elsewhere, leaves the name without the content. Take a new backup, "
                "and have the job check the compressor's exit status (`set -o pipefail`)."
          : "The content is " + found.compression + ", not " + named +
                ": either the job's compressor changed and the name did not, or the name is "
                "wrong. Rename the file to match (`file " +
                q + "` confirms), or fix the job, then point `path`/`pattern` at what it writes.";
  ctx.fail(path + " is named as " + named + " but is not " + named + ": it starts with " + what +
               " (first bytes " + found.first_bytes + ")",
           remediation,
           {{"archive", path},
            {"named_compression", named},
            {"found_compression", found.compression.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(found.compression)},
            {"looks_like", found.looks_like},
            {"first_bytes", found.first_bytes},
            {"bytes_read", head.size()}});
  return true;
}

// An uncompressed file that is not a tar archive carries no integrity information of its own:
// every byte string is a "valid" one. Only a checksum taken when it was written can say it is
// unchanged; without one, say what could and could not be known.
void report_uncompressed(const std::string& path, const std::string& size,
                         const std::optional<bool>& match, const Checksum& checksum,
                         const std::vector<std::string>& warnings, nlohmann::json& details,
                         sdk::Context& ctx) {
  details["integrity"] = match ? "checksum" : "none";
  details["warnings"] = warnings;
  if (match && *match) {
    ctx.ok(path + " matches its " +
               (checksum.source == "param" ? std::string("expected SHA-256") : "checksum file") +
               " (" + size + ", uncompressed: the checksum is its only integrity information)",
           details);
    return;
  }
  std::string q = shell_quote(path);
  ctx.warn(path + " could be read (" + size +
               ") but cannot be verified: it is not compressed and not a tar archive, so it "
               "carries no integrity information, and there is no checksum to compare",
           "Nothing in an uncompressed file tells a damaged byte from a good one. Have the backup "
           "job write a checksum right after the file is complete (`sha256sum " +
               q + " > " + shell_quote(path + ".sha256") +
               "`), or compress it (gzip, zstd and xz record a checksum of the content), and for "
               "a database dump, test it with pg.dump_verify.",
           details);
}

// The file grew or was modified while it was read: an end that looks truncated is, most
// likely, where the writer was at the time. Not a verdict on a backup that is not finished.
void report_still_written(const std::string& path, const ScanResult& scan, const Damage& damage,
                          nlohmann::json& details, sdk::Context& ctx) {
  details["damage"] = damage.to_json();
  std::string q = shell_quote(path);
  ctx.warn(path + " is still being written: it changed while it was read (" +
               human_size(scan.file_size) + " then " + human_size(scan.file_size_after) +
               ", modified " + iso_time(scan.mtime_after) + "), so the " + damage.kind +
               " end found at compressed byte " + std::to_string(damage.compressed_offset) +
               " is probably where the writer was",
           "Let the backup finish, then verify it again: `fuser -v " + q +
               "` shows what has it open (resources.backup_process shows a running backup). If "
               "checks overlap the backup window, schedule them after it; if nothing should be "
               "writing the file, find what is.",
           details);
}

// What one read of the archive found, with the checksum it was compared to: gathered once in
// `run`, then classified and phrased by the report_* and phrase_* functions below. `details`
// and `warnings` grow as the verdict is worked out.
struct Verified {
  const std::string& path;
  std::string q;  // path, shell-quoted for the commands in remediations
  const Target& target;
  const ScanResult& scan;
  const Checksum& checksum;
  std::optional<bool> match;  // unset when there is no digest to compare with
  bool is_tar = false;
  nlohmann::json details;
  std::vector<std::string> warnings;
};

struct Message {
  std::string summary;
  std::string remediation;
};

// Fails with the warnings gathered so far listed in the details.
void fail_with_warnings(Verified& v, const Message& m, sdk::Context& ctx) {
  v.details["warnings"] = v.warnings;
  ctx.fail(m.summary, m.remediation, v.details);
}

// Nothing usable at `path`: missing, no match in the directory, or refused. True when it
// reported.
bool report_no_archive(const TargetSpec& spec, const Target& target, sdk::Context& ctx) {
  nlohmann::json details = {{"path", spec.path}};
  if (!target.directory.empty()) {
    details["directory"] = target.directory;
    details["pattern"] = target.pattern;
    details["not_regular_files"] = not_considered_json(target);
  }
  std::string remediation =
      target.missing
          ? "Nothing exists at " + spec.path +
                ": check that the backup job runs (its schedule and its last log lines) and "
                "writes to this location, and that the storage is mounted."
          : "No regular file in " + target.directory + " matches '" + target.pattern +
                "': the backup job has not produced an archive there. Check its schedule and "
                "log, or correct `pattern` if the archives are named differently.";
  return report_unusable(target, "no archive to verify", remediation, details, ctx);
}

ScanOptions scan_options(const nlohmann::json& params, const std::string& path, sdk::Context& ctx) {
  ScanOptions options;
  std::string format = params.value("format", std::string("auto"));
  options.format = format == "tar"   ? ArchiveFormat::tar
                   : format == "raw" ? ArchiveFormat::raw
                                     : ArchiveFormat::auto_detect;
  options.gzip_engine = params.value("gzip_engine", std::string("isal")) == "libarchive"
                            ? GzipEngine::libarchive
                            : GzipEngine::isal;
  options.cancelled = [&ctx] { return ctx.cancelled(); };
  options.on_progress = [&ctx, path](double f) { ctx.progress(f, "verifying " + path); };
  options.hash = true;
  return options;
}

std::optional<std::string> optional_string(const nlohmann::json& params, const char* key) {
  if (!params.contains(key)) return std::nullopt;
  return params[key].get<std::string>();
}

// What the scan measured, whatever the verdict.
nlohmann::json scan_details(const Target& target, const ScanResult& scan) {
  const WalkResult& w = scan.walk;
  nlohmann::json details = {{"archive", target.path}, {"size_bytes", scan.file_size}};
  if (!target.directory.empty())
    details["chosen_from"] = {{"directory", target.directory},
                              {"pattern", target.pattern},
                              {"candidates", target.candidates},
                              {"not_regular_files", not_considered_json(target)}};
  details["mtime"] = iso_time(scan.mtime);
  details["compression"] = scan.compression;
  for (auto& [k, v] : scan.compression_details.items()) details[k] = v;
  if (!w.format.empty()) details["format"] = w.format;
  details["entries"] = w.complete.entries;
  details["entries_by_type"] = {{"file", w.files},
                                {"directory", w.directories},
                                {"symlink", w.symlinks},
                                {"hardlink", w.hardlinks},
                                {"other", w.others}};
  details["content_bytes"] = w.complete.bytes;
  details["uncompressed_bytes"] = w.stream_bytes;
  details["sha256"] = scan.sha256;
  details["seconds"] = scan.seconds;
  details["cpu_seconds"] = {{"decompress_and_walk", scan.cpu_decompress_seconds},
                            {"read_and_hash", scan.cpu_read_hash_seconds}};
  if (scan.seconds > 0)
    details["throughput_bytes_per_second"] =
        static_cast<uint64_t>(static_cast<double>(scan.file_size) / scan.seconds);
  return details;
}

// Whether the file's SHA-256 is the expected one; unset when there is nothing to compare.
std::optional<bool> checksum_match(const Checksum& checksum, const ScanResult& scan) {
  if (checksum.expected.empty() || scan.sha256.empty()) return std::nullopt;
  return checksum.expected == scan.sha256;
}

nlohmann::json checksum_json(const Checksum& checksum, const std::optional<bool>& match) {
  nlohmann::json cj = {{"source", checksum.source}};
  if (!checksum.sidecar.empty()) cj["sidecar"] = checksum.sidecar;
  if (match) {
    cj["expected"] = checksum.expected;
    cj["match"] = *match;
  }
  if (checksum.source == "sidecar" && checksum.problem.empty()) {
    cj["name_in_sidecar"] = checksum.name_in_sidecar;
    cj["name_matches"] = checksum.name_matches;
    cj["binary_marker"] = checksum.binary_marker;
  }
  if (!checksum.problem.empty()) cj["problem"] = checksum.problem;
  return cj;
}

// The warnings known as soon as the scan is over, whatever the verdict.
std::vector<std::string> scan_warnings(const Target& target, const ScanResult& scan) {
  std::vector<std::string> warnings;
  if (target.newer_odd_entry)
    warnings.push_back(target.newer_odd_entry->path + " matches too and is newer, but it is a " +
                       target.newer_odd_entry->type + ", not an archive: not opened");
  if (scan.compression_warning) warnings.push_back(*scan.compression_warning);
  for (const auto& x : scan.walk.warnings) warnings.push_back("libarchive: " + x);
  return warnings;
}

// Metrics, whatever the verdict.
void emit_metrics(const ScanResult& scan, const std::optional<bool>& match,
                  const nlohmann::json& labels, sdk::Context& ctx) {
  const WalkResult& w = scan.walk;
  ctx.metric("archive_size", static_cast<double>(scan.file_size), "bytes", labels);
  ctx.metric("archive_timestamp", static_cast<double>(scan.mtime), "seconds", labels);
  ctx.metric("archive_uncompressed_size", static_cast<double>(w.stream_bytes), "bytes", labels);
  ctx.metric("archive_entries", static_cast<double>(w.complete.entries), "count", labels);
  ctx.metric("archive_verify_duration", scan.seconds, "seconds", labels);
  ctx.metric("archive_damaged", w.damage ? 1 : 0, "", labels);
  if (match) ctx.metric("archive_checksum_match", *match ? 1 : 0, "", labels);
}

// A file that changed while it was read: damage is then most likely the writer's position
// (reported, true); without damage, a warning that what was verified may be gone.
bool report_if_still_written(Verified& v, sdk::Context& ctx) {
  const ScanResult& scan = v.scan;
  if (!scan.changed_during_scan()) return false;
  v.details["changed_during_check"] = {{"size_before", scan.file_size},
                                       {"size_after", scan.file_size_after},
                                       {"mtime_before", iso_time(scan.mtime)},
                                       {"mtime_after", iso_time(scan.mtime_after)}};
  if (scan.walk.damage) {
    report_still_written(v.path, scan, *scan.walk.damage, v.details, ctx);
    return true;
  }
  v.warnings.push_back("the file changed while it was read (" + human_size(scan.file_size) +
                       " then " + human_size(scan.file_size_after) +
                       "): what was verified may not be what is there now");
  return false;
}

// ---- Damage: what was gathered about it, then one phrase per kind.

// What the damage report says besides the damage itself, worked out once for every kind.
struct DamageFacts {
  const Damage& d;
  EntryTally recoverable;  // before the damage, plus after it when the walk resumed
  std::string at;          // "compressed byte N of SIZE"
  std::string salvage;     // how to extract the intact entries; empty when there are none
  // The decoder may have stopped short of what tar reads: `tar -t` may list a few more.
  std::string at_least;
  std::string lower_bound_note;
};

// Corrupt compressed data: the bytes that decompress may not be the ones written.
bool content_unverified(const Damage& d) {
  return d.kind == "corrupt_data" || d.kind == "checksum_mismatch";
}

// A compressed dump (not tar) damaged in its data: no entries, only how much of the stream is
// readable.
bool is_damaged_stream(const Verified& v, const Damage& d) {
  return !v.is_tar && d.kind != "empty" && d.kind != "read_error";
}

std::string tar_flag(const ScanResult& scan) {
  return scan.compression == "gzip" ? "z" : "a";
}

DamageFacts gather_damage_facts(const Verified& v, const Damage& d) {
  const WalkResult& w = v.scan.walk;
  EntryTally recoverable = w.before_damage;
  recoverable.entries += w.after_damage.entries;
  recoverable.bytes += w.after_damage.bytes;
  std::string salvage;
  if (recoverable.entries > 0 && v.is_tar)
    salvage =
        "To salvage what is intact without touching the archive, extract into a scratch "
        "directory: `mkdir -p /tmp/recovery && tar -x" +
        tar_flag(v.scan) + "f " + v.q +
        " -C /tmp/recovery` (tar reports the damage after extracting the entries before it). ";
  return {.d = d,
          .recoverable = recoverable,
          .at = "compressed byte " + std::to_string(d.compressed_offset) + " of " +
                std::to_string(v.scan.file_size),
          .salvage = salvage,
          .at_least = w.recoverable_is_lower_bound ? "at least " : "",
          .lower_bound_note =
              w.recoverable_is_lower_bound ? " (a lower bound: " + w.lower_bound_reason + ")" : ""};
}

nlohmann::json damage_json(const Verified& v, const DamageFacts& f) {
  const WalkResult& w = v.scan.walk;
  bool unverified = content_unverified(f.d);
  nlohmann::json dj = f.d.to_json();
  dj["last_good_entry"] = w.before_damage.last_entry;
  dj["entries_before_damage"] = w.before_damage.entries;
  dj["bytes_before_damage"] = w.before_damage.bytes;
  if (w.after_damage_counted) dj["entries_after_damage"] = w.after_damage.entries;
  if (w.after_damage_counted) dj["bytes_after_damage"] = w.after_damage.bytes;
  dj["recoverable_entries"] = f.recoverable.entries;
  dj["recoverable_bytes"] = f.recoverable.bytes;
  dj["recoverable_is_lower_bound"] = w.recoverable_is_lower_bound;
  if (!w.damaged_entry.empty()) {
    dj["damaged_entry"] = w.damaged_entry;
    if (w.damaged_entry_size >= 0) {
      dj["damaged_entry_size"] = w.damaged_entry_size;
      dj["damaged_entry_bytes_available"] = w.damaged_entry_bytes_available;
    }
  }
  if (w.resync_skipped_bytes) dj["resync_skipped_bytes"] = w.resync_skipped_bytes;
  dj["content_verified"] = !unverified;
  if (w.verified && unverified) {
    dj["verified_entries"] = w.verified->entries;
    dj["verified_bytes"] = w.verified->bytes;
  }
  if (w.first_symptom) {
    nlohmann::json fs = w.first_symptom->to_json();
    fs["after_entry"] = w.before_damage.last_entry;
    dj["first_symptom"] = fs;
  }
  if (is_damaged_stream(v, f.d)) dj["readable_uncompressed_bytes"] = w.stream_bytes;
  return dj;
}

// The command that decompresses what precedes the damage; empty when there is none to offer.
std::string stream_decompressor(const std::string& compression) {
  return compression == "gzip"    ? "gzip -dc"
         : compression == "zstd"  ? "zstd -dc"
         : compression == "xz"    ? "xz -dc"
         : compression == "bzip2" ? "bzip2 -dc"
                                  : "";
}

Message phrase_damaged_stream(const Verified& v, const DamageFacts& f) {
  const Damage& d = f.d;
  Message m;
  m.summary = v.path + (d.kind == "truncated" ? " is truncated: " : " is corrupt: ") + d.message +
              " at " + f.at + "; the first " + human_size(v.scan.walk.stream_bytes) +
              " of the uncompressed stream are readable";
  m.remediation = checksum_clause(v.checksum, v.match, d.kind);
  std::string tool = stream_decompressor(v.scan.compression);
  if (!tool.empty())
    m.remediation += "What precedes the damage can be kept: `" + tool + " " + v.q +
                     " > /tmp/recovery.partial` (it stops with an error at the damage); a "
                     "database dump cut short usually restores up to the last complete "
                     "statement. ";
  m.remediation +=
      "Take a new backup, written to a temporary name and renamed only when the "
      "dump and the compressor both succeeded.";
  return m;
}

Message phrase_truncated(const Verified& v, const DamageFacts& f) {
  const WalkResult& w = v.scan.walk;
  const Damage& d = f.d;
  bool uncompressed = v.scan.compression == "none";
  Message m;
  m.summary = v.path + " is truncated: " + d.message + " at " +
              (uncompressed ? "byte " + std::to_string(d.compressed_offset) : f.at) + "; " +
              f.at_least + std::to_string(f.recoverable.entries) + " complete entries (" +
              human_size(f.recoverable.bytes) + ") are recoverable" + f.lower_bound_note +
              ", last good " + quoted_last(w.before_damage);
  if (!w.damaged_entry.empty() && w.damaged_entry_size >= 0)
    m.summary += ", '" + w.damaged_entry + "' cut after " +
                 human_size(w.damaged_entry_bytes_available) + " of " +
                 human_size(static_cast<uint64_t>(w.damaged_entry_size));
  m.remediation = std::string(uncompressed ? "The file ends in the middle of an entry. "
                                           : "The file ends before its compressed stream does. ") +
                  checksum_clause(v.checksum, v.match, d.kind) + f.salvage +
                  "Then take a new backup, and make the job write to a temporary name and rename "
                  "it only after the archiver exits 0 (with `set -o pipefail` when piping "
                  "through a compressor), writing the checksum after the rename.";
  return m;
}

std::string corrupt_summary(const Verified& v, const DamageFacts& f) {
  const WalkResult& w = v.scan.walk;
  std::string summary = v.path + " is corrupt: " + f.d.message + " (detected at " + f.at + ")";
  if (w.first_symptom && w.first_symptom->uncompressed_offset)
    summary += "; garbage first shows at uncompressed offset " +
               std::to_string(*w.first_symptom->uncompressed_offset) + ", after " +
               quoted_last(w.before_damage);
  if (w.verified && w.verified->entries > 0)
    summary += "; " + std::to_string(w.verified->entries) +
               " entries lie wholly before the damaged gzip member and are intact";
  else if (w.verified)
    summary += "; " + f.at_least + std::to_string(w.before_damage.entries) +
               " entries decompress before it but none is covered by an intact CRC";
  else
    summary += "; " + f.at_least + std::to_string(w.before_damage.entries) +
               " entries decompress before it";
  return summary + f.lower_bound_note;
}

// Which entries the intact gzip members vouch for (their CRC passed) and which decompress from
// the damaged one without any such guarantee. Empty when the decoder could not tell.
std::string unverified_member_note(const WalkResult& w, const Damage& d) {
  if (!w.verified || !d.member_offset) return "";
  std::string note;
  uint64_t unverified_entries =
      w.before_damage.entries - std::min(w.before_damage.entries, w.verified->entries);
  if (w.verified->entries > 0)
    note += std::to_string(w.verified->entries) + " entries (through " + quoted_last(*w.verified) +
            ") come before the damaged gzip member (it starts at byte " +
            std::to_string(*d.member_offset) + ") and passed their CRC check; ";
  else
    note += "The damaged gzip member starts at byte " + std::to_string(*d.member_offset) +
            ", so no entry is covered by an intact CRC; ";
  note += std::to_string(unverified_entries) +
          " entries in it decompress but any of them may hold corrupted bytes";
  if (w.first_symptom)
    note += " (those up to " + quoted_last(w.before_damage) +
            ", after which garbage first shows, are the likeliest to be sound)";
  return note + ". ";
}

Message phrase_corrupt(const Verified& v, const DamageFacts& f) {
  Message m;
  m.summary = corrupt_summary(v, f);
  m.remediation = checksum_clause(v.checksum, v.match, f.d.kind);
  if (m.remediation.empty())
    m.remediation =
        "Without a checksum it cannot be told whether the archive was written "
        "broken or broke later: check `dmesg` and `smartctl -a` for I/O errors on "
        "its device, and restore from another copy. ";
  m.remediation += unverified_member_note(v.scan.walk, f.d);
  m.remediation += f.salvage + "Take a new backup as soon as possible.";
  return m;
}

// Where a damaged tar header is: a byte offset in an uncompressed file, else the uncompressed
// offset and the compressed bytes it came from.
std::string tar_header_position(const ScanResult& scan, const Damage& d) {
  if (scan.compression == "none") return "byte " + std::to_string(d.compressed_offset);
  return "uncompressed offset " + std::to_string(d.uncompressed_offset.value_or(0)) +
         " (compressed bytes " + std::to_string(d.compressed_range_start.value_or(0)) + "-" +
         std::to_string(d.compressed_offset) + ")";
}

Message phrase_tar_header(const Verified& v, const DamageFacts& f) {
  const WalkResult& w = v.scan.walk;
  const Damage& d = f.d;
  Message m;
  if (w.after_damage_counted)
    m.summary = v.path + " has a damaged tar header at " + tar_header_position(v.scan, d) +
                (w.before_damage.entries == 0 ? ", at the start of the archive"
                                              : ", after " + quoted_last(w.before_damage)) +
                "; " + std::to_string(w.before_damage.entries) + " entries before and " +
                std::to_string(w.after_damage.entries) + " after it are recoverable";
  else
    m.summary = v.path + ": " + d.message +
                "; nothing could be walked (GNU tar skips to the next valid header, so the "
                "entries after the first are probably recoverable)";
  m.remediation =
      std::string(v.scan.compression == "none"
                      ? "The tar stream was written with a broken header "
                      : "The compression layer is intact, so the tar stream was written with "
                        "a broken header ") +
      "(a faulty archiver, or memory errors on the backup host). " +
      checksum_clause(v.checksum, v.match, d.kind) +
      "The entry at the damaged header is lost; GNU tar skips to the next valid "
      "header and extracts the rest: `mkdir -p /tmp/recovery && tar -x" +
      tar_flag(v.scan) + "f " + v.q +
      " -C /tmp/recovery`. Take a new backup and compare it with the source "
      "(archive.compare_source).";
  return m;
}

Message phrase_tar_truncated(const Verified& v, const DamageFacts& f) {
  const WalkResult& w = v.scan.walk;
  Message m;
  m.summary =
      v.path + ": the compression is complete but the tar stream inside ends in the middle " +
      (w.damaged_entry.empty() ? std::string("of a header") : "of '" + w.damaged_entry + "'") +
      "; " + std::to_string(f.recoverable.entries) + " complete entries (" +
      human_size(f.recoverable.bytes) + ") are recoverable, last good " +
      quoted_last(w.before_damage);
  m.remediation =
      "The archiver stopped (killed, out of disk space, or a source file vanished) "
      "while the compressor it fed finished cleanly, so nothing flagged the run "
      "as failed. Check the backup job's log for tar's exit status at " +
      iso_time(v.scan.mtime) +
      ", and make the job fail when tar fails (`set -o pipefail`, or `tar -czf` "
      "instead of a pipe). " +
      f.salvage + "Take a new backup.";
  return m;
}

Message phrase_read_error(const Verified& v, const DamageFacts& f) {
  return {.summary = "reading " + v.path + " failed at byte " +
                     std::to_string(f.d.compressed_offset) + ": " + f.d.message,
          .remediation =
              "The storage holding the archive returns I/O errors: check `dmesg` and "
              "`smartctl -a` for its device, copy what can still be read with `ddrescue " +
              v.q +
              " /tmp/recovery.img`, restore from another copy, and move the backups off the "
              "failing device."};
}

Message phrase_empty(const Verified& v) {
  return {.summary = v.path + " is empty (0 bytes)",
          .remediation =
              "The backup job created the file but wrote nothing into it: check its log for "
              "the failure at " +
              iso_time(v.scan.mtime) +
              ", and have it write to a temporary name and rename only on success so an "
              "empty file never looks like the newest backup."};
}

Message phrase_unrecognised(const Verified& v, const DamageFacts& f) {
  return {.summary = v.path + " is not a readable archive: " + f.d.message,
          .remediation = "libarchive cannot recognise the format of " + v.path +
                         ": check that the job writes what its name says (`file " + v.q +
                         "` shows what it is), or set `format` to `raw` for a compressed dump."};
}

Message phrase_damage(const Verified& v, const DamageFacts& f) {
  const std::string& kind = f.d.kind;
  if (is_damaged_stream(v, f.d)) return phrase_damaged_stream(v, f);
  if (kind == "truncated") return phrase_truncated(v, f);
  if (kind == "corrupt_data" || kind == "checksum_mismatch" || kind == "bad_header")
    return phrase_corrupt(v, f);
  if (kind == "tar_header") return phrase_tar_header(v, f);
  if (kind == "tar_truncated") return phrase_tar_truncated(v, f);
  if (kind == "read_error") return phrase_read_error(v, f);
  if (kind == "empty") return phrase_empty(v);
  return phrase_unrecognised(v, f);
}

void report_damage(Verified& v, const nlohmann::json& labels, sdk::Context& ctx) {
  DamageFacts f = gather_damage_facts(v, *v.scan.walk.damage);
  v.details["damage"] = damage_json(v, f);
  ctx.metric("archive_recoverable_entries", static_cast<double>(f.recoverable.entries), "count",
             labels);
  fail_with_warnings(v, phrase_damage(v, f), ctx);
}

// ---- The archive is intact: the checksum and the softer findings.

Message phrase_checksum_unusable(const Verified& v) {
  const Checksum& checksum = v.checksum;
  std::string remediation =
      checksum_refused(checksum)
          ? refusal_advice(checksum.refused, checksum.sidecar, "the checksum file") +
                " Once it is gone, have the backup job write the checksum as a regular file (as "
                "the job's user, not root: `sha256sum " +
                v.q + " > " + shell_quote(checksum.sidecar) + "`)."
          : "Its checksum cannot be compared: regenerate the checksum file after checking the "
            "archive is the one you want: `sha256sum " +
                v.q + " > " + shell_quote(checksum.sidecar) +
                "`; and fix the backup job step that writes it.";
  return {.summary = v.path + " is intact, but " + checksum.problem, .remediation = remediation};
}

// Why an intact archive may not match its checksum, most telling evidence first.
std::string mismatch_cause(const Verified& v) {
  const Checksum& checksum = v.checksum;
  if (checksum.source == "sidecar" && checksum.sidecar_mtime < v.scan.mtime)
    return "The checksum file (" + iso_time(checksum.sidecar_mtime) +
           ") is older than the archive (" + iso_time(v.scan.mtime) +
           "): the archive was rewritten after its checksum was taken — a second run "
           "overwrote it, or the job checksums before its final rename. ";
  if (checksum.source == "sidecar" && !checksum.name_matches)
    return "The checksum file names '" + checksum.name_in_sidecar +
           "', not this archive: it belongs to another file. ";
  return "The file changed after its checksum was taken, or the checksum belongs to a "
         "different file; if it changed on storage, compressed data errors would "
         "usually show, so suspect a rewrite or a mixed-up checksum first. ";
}

Message phrase_checksum_mismatch(const Verified& v) {
  const Checksum& checksum = v.checksum;
  Message m;
  m.summary = "SHA-256 of " + v.path + " does not match " +
              (checksum.source == "param" ? std::string("the expected digest") : checksum.sidecar) +
              " (expected " + checksum.expected.substr(0, 16) + "…, got " +
              v.scan.sha256.substr(0, 16) + "…), although it decompresses and all " +
              std::to_string(v.scan.walk.complete.entries) + " entries read cleanly";
  m.remediation = mismatch_cause(v) +
                  "Find out which is the intended content (compare with the source using "
                  "archive.compare_source), then write the checksum right after the archive is "
                  "complete: `sha256sum " +
                  v.q + " > " +
                  shell_quote(checksum.sidecar.empty() ? v.path + ".sha256" : checksum.sidecar) +
                  "`.";
  return m;
}

Message phrase_too_few_entries(const Verified& v, int64_t min_entries) {
  return {.summary = v.path + " is intact but holds only " +
                     std::to_string(v.scan.walk.complete.entries) + " entries (expected at least " +
                     std::to_string(min_entries) + ")",
          .remediation =
              "The backup archived an empty or wrong directory: check the source path in the "
              "backup job and that the source is mounted when the job runs."};
}

Message phrase_no_checksum(const Verified& v) {
  return {.summary = v.path + " is intact but has no checksum to compare with",
          .remediation =
              "Have the backup job write a checksum file next to each archive once it "
              "is complete (`sha256sum " +
              v.q + " > " + shell_quote(v.path + ".sha256") +
              "`), so later corruption can be told from a bad run."};
}

// "gzip tar, 12 entries (...), 3.0 MiB uncompressed".
std::string describe_contents(const Verified& v) {
  const ScanResult& scan = v.scan;
  return (scan.compression == "none" ? std::string("uncompressed") : scan.compression) +
         (v.is_tar ? " tar" : " stream") + ", " +
         (v.is_tar ? type_name(scan.walk) + ", " : std::string()) +
         human_size(scan.walk.stream_bytes) + " uncompressed";
}

std::string describe_checksum_result(const Verified& v) {
  return v.match
             ? "SHA-256 matches " + std::string(v.checksum.source == "param" ? "the expected digest"
                                                                             : "its checksum file")
             : "no checksum to compare";
}

// The softer findings about an intact archive's structure and checksum file.
void add_intact_warnings(Verified& v) {
  const WalkResult& w = v.scan.walk;
  if (v.is_tar && !w.end_marker)
    v.warnings.push_back(
        "no tar end-of-archive marker: the archive ends right after an entry, as "
        "when tar is interrupted between two files");
  if (w.data_after_end_offset)
    v.warnings.push_back(
        std::to_string(w.data_after_end_bytes) +
        " bytes of data follow the tar end-of-archive marker (uncompressed offset " +
        std::to_string(*w.data_after_end_offset) +
        "): a second archive appended to the first, which tar only extracts with "
        "--ignore-zeros");
  if (v.checksum.source == "sidecar" && !v.checksum.name_matches)
    v.warnings.push_back("the checksum file names '" + v.checksum.name_in_sidecar +
                         "' rather than this archive; `sha256sum -c` on it would fail");
}

// One piece of advice per warning of an intact archive; each is empty when it does not apply.
std::string advice_no_end_marker(const Verified& v) {
  if (!v.is_tar || v.scan.walk.end_marker) return "";
  return "The archive may be cut at an entry boundary: compare it with the source "
         "(archive.compare_source) and check the job's log for tar's exit status. ";
}

std::string advice_appended_archive(const Verified& v) {
  if (!v.scan.walk.data_after_end_offset) return "";
  return "Something appended a second archive: list it with `tar --ignore-zeros -t" +
         tar_flag(v.scan) + "f " + v.q +
         "` and have the job write a fresh file each run instead of appending. ";
}

std::string advice_data_after_gzip(const Verified& v) {
  if (!v.scan.compression_warning) return "";
  return "Data after the last gzip member is ignored by gzip; find what wrote it "
         "(an append or a failed overwrite) and take a fresh backup. ";
}

std::string advice_checksum_names_other(const Verified& v) {
  if (v.checksum.source != "sidecar" || v.checksum.name_matches) return "";
  namespace fs = std::filesystem;
  return "Regenerate the checksum file from the archive's own name so that "
         "`sha256sum -c` works: `cd " +
         shell_quote(fs::path(v.path).parent_path().string()) + " && sha256sum " +
         shell_quote(fs::path(v.path).filename().string()) + " > " +
         shell_quote(fs::path(v.checksum.sidecar).filename().string()) + "`. ";
}

std::string advice_newer_odd_entry(const Verified& v) {
  const auto& odd = v.target.newer_odd_entry;
  if (!odd) return "";
  return "A " + odd->type +
         " where a backup should be is not a "
         "backup: find out what made " +
         shell_quote(odd->path) + " (ls -l " + shell_quote(odd->path) +
         "), remove it, and check that the last run of the backup job wrote its "
         "archive as a regular file. ";
}

std::string intact_warnings_remediation(const Verified& v) {
  std::string remediation = advice_no_end_marker(v) + advice_appended_archive(v) +
                            advice_data_after_gzip(v) + advice_checksum_names_other(v) +
                            advice_newer_odd_entry(v);
  if (remediation.empty())
    remediation =
        "libarchive read every entry but warned about some of them (see details): "
        "list the archive with `tar -tvf` to see whether those entries restore as "
        "expected.";
  return remediation;
}

// The verdict on an archive that decompresses, walks and matches (or has no) checksum.
void report_readable(Verified& v, sdk::Context& ctx) {
  std::string what = describe_contents(v);
  std::string check_text = describe_checksum_result(v);
  add_intact_warnings(v);
  v.details["warnings"] = v.warnings;
  if (!v.warnings.empty()) {
    ctx.warn(v.path + " is readable (" + what + "; " + check_text + ") with " +
                 std::to_string(v.warnings.size()) + " warning(s): " + v.warnings.front(),
             intact_warnings_remediation(v), v.details);
    return;
  }
  ctx.ok(v.path + " is intact: " + what + "; " + check_text, v.details);
}

void report_intact(const nlohmann::json& params, Verified& v, sdk::Context& ctx) {
  if (!v.checksum.problem.empty()) {
    fail_with_warnings(v, phrase_checksum_unusable(v), ctx);
    return;
  }
  if (v.match && !*v.match) {
    fail_with_warnings(v, phrase_checksum_mismatch(v), ctx);
    return;
  }
  int64_t min_entries = params.value("min_entries", 1);
  if (v.is_tar && static_cast<int64_t>(v.scan.walk.complete.entries) < min_entries) {
    fail_with_warnings(v, phrase_too_few_entries(v, min_entries), ctx);
    return;
  }
  if (v.checksum.source == "none" && params.value("require_checksum", false)) {
    fail_with_warnings(v, phrase_no_checksum(v), ctx);
    return;
  }
  if (!v.is_tar && v.scan.compression == "none") {
    report_uncompressed(v.path, human_size(v.scan.walk.stream_bytes), v.match, v.checksum,
                        v.warnings, v.details, ctx);
    return;
  }
  report_readable(v, ctx);
}

void run(const nlohmann::json& params, sdk::Context& ctx) {
  TargetSpec spec = target_spec(params);
  Target target = resolve_target(spec);
  nlohmann::json labels = {{"target", spec.path}};
  if (report_no_archive(spec, target, ctx)) return;
  const std::string& path = target.path;
  if (report_misnamed(target.file.fd.get(), path, ctx, labels)) return;

  ScanOptions options = scan_options(params, path, ctx);
  Checksum checksum =
      load_checksum(path, optional_string(params, "sha256"), optional_string(params, "sidecar"));
  ScanResult scan = scan_archive(std::move(target.file), path, options);
  if (scan.walk.cancelled) throw sdk::CheckError("cancelled while verifying " + path);

  Verified v{.path = path,
             .q = shell_quote(path),
             .target = target,
             .scan = scan,
             .checksum = checksum,
             .match = checksum_match(checksum, scan),
             .is_tar = scan.walk.is_tar,
             .details = scan_details(target, scan),
             .warnings = scan_warnings(target, scan)};
  v.details["checksum"] = checksum_json(checksum, v.match);
  if (v.is_tar && !scan.walk.damage) v.details["end_of_archive_marker"] = scan.walk.end_marker;
  emit_metrics(scan, v.match, labels, ctx);

  if (report_if_still_written(v, ctx)) return;
  if (scan.walk.damage) {
    report_damage(v, labels, ctx);
    return;
  }
  report_intact(params, v, ctx);
}

}  // namespace

sdk::CheckType verify_check() {
  return {.type = "archive.verify",
          .summary = "Verifies a backup archive in one pass: compression, tar, checksum",
          .doc = kDoc,
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::archive
