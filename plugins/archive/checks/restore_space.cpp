// archive.restore_space: would a restore of the archive fit where it would be restored? The
// guide compares `du -sh` of the compressed file with `df -h`, which misses the point: the
// restore needs the uncompressed size (and one inode per entry).
#include "checks.hpp"
#include "scan.hpp"
#include "space.hpp"
#include "target.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/text.hpp>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace backup_doctor::archive {

using sdk::human_size;
using sdk::shell_quote;

namespace {

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "restore_target"],
  "properties": {
    "path": {"$ref": "bd:target_path"},
    "pattern": {"$ref": "bd:target_pattern", "description": "Glob for the file name when `path` is a directory. Default `*`. Checksum files (`*.sha256`), temporary files (`*.tmp`, `*.partial`, `*.part`) and dot files are never chosen unless the pattern asks for them."},
    "restore_target": {"type": "string", "minLength": 1,
      "description": "Directory the archive would be restored into (it need not exist yet: its nearest existing parent is measured)."},
    "margin_percent": {"type": "number", "minimum": 0, "default": 10,
      "description": "Free space (and inodes) wanted on top of what the restore needs, in percent. Less than the need fails; less than need plus margin warns. Default 10."},
    "size_source": {"enum": ["scan", "gzip_trailer"], "default": "scan",
      "description": "`scan` (default): decompress and read every tar header (no hashing, no extraction), giving exact sizes and the entry count. `gzip_trailer`: read only the size field at the end of a gzip file — trusted only for gzip files under 4 MiB, where that 32-bit field cannot have wrapped; otherwise the check scans anyway. It gives no entry count, so inodes are not checked."}
  }
})";

const char* kDoc =
    "Works out what restoring the archive needs — the uncompressed size of its entries rounded "
    "up to the target filesystem's block size, plus one inode per entry — and compares it "
    "with the free space and free inodes of the filesystem holding the restore target. The "
    "sizes come from a streaming read of the archive's headers (constant memory, nothing "
    "extracted) or, for small gzip files, from the gzip trailer.\n\n"
    "The archive is chosen and opened as archive.verify does (regular files only, never "
    "through a link). The restore target is measured on a descriptor: a link on the way that "
    "another account could have made fails the check instead of measuring wherever it points.";

// Deflate cannot compress better than 1032:1, so below this size the trailer's 32-bit length
// field cannot have wrapped.
constexpr uint64_t kTrailerTrustLimit = (uint64_t{1} << 32) / 1032;

// The restore target, or its nearest parent that exists (a link counts as existing: it is not
// followed here, and open_named_directory decides whether to).
std::string existing_ancestor(std::string path) {
  namespace fs = std::filesystem;
  fs::path p = fs::absolute(path);
  struct stat st {};
  while (::lstat(p.c_str(), &st) != 0 && p.has_parent_path() && p != p.parent_path())
    p = p.parent_path();
  return p.string();
}

// The restore target is reached through a link another account could have made (the space
// measured would be wherever it points), or cannot be opened.
void report_target_refused(const std::string& restore_target, const std::string& measured,
                           const support::SafeOpened& refused, sdk::Context& ctx) {
  if (refused.refusal != support::Refusal::symlink &&
      refused.refusal != support::Refusal::untrusted_link)
    throw sdk::CheckError(
        "cannot measure free space at " + measured + ": " +
        (refused.message.empty() ? sdk::errno_text(refused.error) : refused.message));
  nlohmann::json details = {{"restore_target", restore_target},
                            {"measured_path", measured},
                            {"error", refused.message},
                            {"symlink_target", refused.link_target}};
  ctx.fail("restore target " + refused.message,
           "The free space would be measured wherever that link points, which another account "
           "decides, and a restore would go there too. Restore into a directory that only root "
           "controls, or set `restore_target` to the real directory (" +
               shell_quote(refused.link_target) + ").",
           details);
}

std::string mount_point(const std::string& path) {
  namespace fs = std::filesystem;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path;
  fs::path p = fs::absolute(path);
  while (p.has_parent_path() && p != p.parent_path()) {
    struct stat parent {};
    if (::stat(p.parent_path().c_str(), &parent) != 0 || parent.st_dev != st.st_dev) break;
    p = p.parent_path();
  }
  return p.string();
}

// The gzip trailer's size field of the archive open on `fd`.
std::optional<uint64_t> gzip_trailer_size(int fd, uint64_t file_size) {
  if (file_size < 18 || file_size > kTrailerTrustLimit) return std::nullopt;
  unsigned char head[2], tail[4];
  bool ok =
      ::pread(fd, head, 2, 0) == 2 && ::pread(fd, tail, 4, static_cast<off_t>(file_size - 4)) == 4;
  if (!ok || head[0] != 0x1f || head[1] != 0x8b) return std::nullopt;
  return uint64_t{tail[0]} | uint64_t{tail[1]} << 8 | uint64_t{tail[2]} << 16 |
         uint64_t{tail[3]} << 24;
}

// The filesystem holding the restore target, as fstatvfs reports it.
struct FreeSpace {
  uint64_t block = 0;  // allocation unit
  uint64_t free_bytes = 0;
  bool inodes_known = false;  // btrfs and some network filesystems report none
  uint64_t free_inodes = 0;
};

FreeSpace measure_free_space(const support::SafeOpened& dir, const std::string& measured) {
  struct statvfs vfs {};
  if (::fstatvfs(dir.fd.get(), &vfs) != 0)
    throw sdk::CheckError("cannot measure free space at " + measured + ": " +
                          sdk::errno_text(errno));
  FreeSpace space;
  space.block = vfs.f_frsize ? vfs.f_frsize : 4096;
  space.free_bytes = static_cast<uint64_t>(vfs.f_bavail) * space.block;
  space.inodes_known = vfs.f_files > 0;
  space.free_inodes = vfs.f_favail;
  return space;
}

// What a restore of the archive needs, and where the figures come from.
struct RestoreNeed {
  std::string source_used = "scan";  // or "gzip_trailer"
  uint64_t bytes = 0, inodes = 0, content_bytes = 0;
  bool count_inodes = true;      // false when the figures come without an entry count
  std::optional<Damage> damage;  // the scan stopped at it: the figures cover what precedes it
};

// The size in the gzip trailer, when it was asked for and can be trusted; unset otherwise (the
// archive is then scanned).
std::optional<RestoreNeed> need_from_trailer(const nlohmann::json& params, const Target& target,
                                             uint64_t archive_size) {
  if (params.value("size_source", std::string("scan")) != "gzip_trailer") return std::nullopt;
  auto size = gzip_trailer_size(target.file.fd.get(), archive_size);
  if (!size) return std::nullopt;
  RestoreNeed need;
  need.source_used = "gzip_trailer";
  need.content_bytes = *size;
  need.bytes = *size;
  need.count_inodes = false;
  return need;
}

void count_entry(const EntryInfo& e, uint64_t block, RestoreNeed& need) {
  if (e.type == EntryType::hardlink) return;  // shares the inode and blocks of its target
  ++need.inodes;
  uint64_t size = static_cast<uint64_t>(std::max<int64_t>(0, e.size));
  need.content_bytes += size;
  // Sparse entries are extracted sparse: only their data regions take blocks.
  uint64_t allocated = static_cast<uint64_t>(std::max<int64_t>(0, e.allocated));
  need.bytes += e.type == EntryType::file ? (allocated + block - 1) / block * block : block;
}

RestoreNeed need_from_scan(Target& target, uint64_t block, sdk::Context& ctx) {
  RestoreNeed need;
  ScanOptions options;
  options.hash = false;
  options.cancelled = [&ctx] { return ctx.cancelled(); };
  options.on_entry = [&](const EntryInfo& e) { count_entry(e, block, need); };
  ScanResult scan = scan_archive(std::move(target.file), target.path, options);
  if (scan.walk.cancelled) throw sdk::CheckError("cancelled while reading " + target.path);
  if (!scan.walk.is_tar) {  // a compressed dump: restored as one file
    need.inodes = 1;
    need.content_bytes = scan.walk.stream_bytes;
    need.bytes = (need.content_bytes + block - 1) / block * block;
  }
  need.damage = scan.walk.damage;
  return need;
}

// Both sides gathered: what the verdict and its messages are made from.
struct Sizing {
  const std::string& archive;  // its path
  const std::string& restore_target;
  const std::string& measured;  // the restore target or its nearest existing parent
  uint64_t archive_size = 0;
  const RestoreNeed& need;
  const FreeSpace& space;
  double margin = 0;  // a fraction: 0.1 for 10%
};

nlohmann::json sizing_details(const Sizing& s) {
  const RestoreNeed& need = s.need;
  nlohmann::json details = {{"archive", s.archive},
                            {"archive_size_bytes", s.archive_size},
                            {"size_source", need.source_used},
                            {"content_bytes", need.content_bytes},
                            {"required_bytes", need.bytes},
                            {"restore_target", s.restore_target},
                            {"measured_path", s.measured},
                            {"filesystem", mount_point(s.measured)},
                            {"free_bytes", s.space.free_bytes},
                            {"margin_percent", s.margin * 100}};
  if (need.count_inodes) details["required_inodes"] = need.inodes;
  if (s.space.inodes_known) details["free_inodes"] = s.space.free_inodes;
  if (need.damage) details["damage"] = need.damage->to_json();
  return details;
}

void emit_metrics(const Sizing& s, const nlohmann::json& labels, sdk::Context& ctx) {
  ctx.metric("archive_restore_required", static_cast<double>(s.need.bytes), "bytes", labels);
  ctx.metric("archive_restore_free", static_cast<double>(s.space.free_bytes), "bytes", labels);
  if (s.need.count_inodes)
    ctx.metric("archive_restore_required_inodes", static_cast<double>(s.need.inodes), "count",
               labels);
  if (s.space.inodes_known)
    ctx.metric("archive_restore_free_inodes", static_cast<double>(s.space.free_inodes), "count",
               labels);
}

uint64_t with_margin(uint64_t v, double margin) {
  return static_cast<uint64_t>(static_cast<double>(v) * (1 + margin));
}

// "restoring A into T needs 3.0 GiB in 120 inodes; /srv has 10 GiB free and 5000 free inodes"
std::string phrase_head(const Sizing& s, const std::string& fs) {
  std::string need_text =
      human_size(s.need.bytes) +
      (s.need.count_inodes ? " in " + std::to_string(s.need.inodes) + " inodes" : "");
  std::string have_text =
      human_size(s.space.free_bytes) + " free" +
      (s.space.inodes_known ? " and " + std::to_string(s.space.free_inodes) + " free inodes" : "");
  return "restoring " + s.archive + " into " + s.restore_target + " needs " + need_text + "; " +
         fs + " has " + have_text;
}

std::string phrase_short_remediation(const Sizing& s, const std::string& fs, bool bytes_short,
                                     bool inodes_short, const std::string& partial) {
  std::string remediation = "Before a restore is needed, make room on " + fs + ": ";
  if (bytes_short)
    remediation += "free at least " +
                   human_size(with_margin(s.need.bytes, s.margin) - s.space.free_bytes) +
                   " (`du -xsh " + shell_quote(fs) + "/* | sort -h | tail` shows where it went)";
  if (inodes_short)
    remediation += std::string(bytes_short ? ", and " : "") + "free " +
                   std::to_string(with_margin(s.need.inodes, s.margin) - s.space.free_inodes) +
                   " inodes (many small files; `du -x --inodes " + shell_quote(fs) +
                   " | sort -n | tail` finds them)";
  remediation += "; or plan the restore onto a larger filesystem (`tar -x -f " +
                 shell_quote(s.archive) + " -C /path/on/bigger/fs`)." + partial;
  return remediation;
}

std::string phrase_tight_remediation(const Sizing& s, const std::string& fs, bool tight) {
  std::string remediation =
      s.need.damage ? "The archive is damaged; size estimate covers only its readable part. Run "
                      "archive.verify on " +
                          s.archive + ". "
                    : "";
  if (tight)
    remediation += "The restore would fit but leave less than the " +
                   std::to_string(static_cast<int>(s.margin * 100)) + "% margin on " + fs +
                   ": free some space there (or grow the filesystem) so a restore during an "
                   "incident does not fill it.";
  return remediation;
}

// Short of bytes or inodes fails; within the margin, or sized from a damaged archive, warns.
void report_verdict(const Sizing& s, const nlohmann::json& details, sdk::Context& ctx) {
  std::string fs = mount_point(s.measured);
  Room bytes_room = judge_room(s.need.bytes, s.space.free_bytes, s.margin);
  Room inodes_room = s.need.count_inodes && s.space.inodes_known
                         ? judge_room(s.need.inodes, s.space.free_inodes, s.margin)
                         : Room::enough;
  bool bytes_short = bytes_room == Room::short_of;
  bool inodes_short = inodes_room == Room::short_of;
  bool tight = bytes_room != Room::enough || inodes_room != Room::enough;
  std::string partial = s.need.damage
                            ? " (the archive is damaged, so this counts only the entries before "
                              "the damage; see archive.verify)"
                            : "";
  std::string head = phrase_head(s, fs);
  if (bytes_short || inodes_short) {
    ctx.fail(head + ": not enough" + partial,
             phrase_short_remediation(s, fs, bytes_short, inodes_short, partial), details);
    return;
  }
  if (tight || s.need.damage) {
    ctx.warn(head + (tight ? ": less than the margin left" : "") + partial,
             phrase_tight_remediation(s, fs, tight), details);
    return;
  }
  ctx.ok(head, details);
}

void run(const nlohmann::json& params, sdk::Context& ctx) {
  TargetSpec spec = target_spec(params);
  std::string restore_target = params.at("restore_target").get<std::string>();
  double margin = params.value("margin_percent", 10.0) / 100.0;

  Target target = resolve_target(spec);
  if (report_unusable(target, "no archive to size",
                      "There is no archive at " + spec.path +
                          " to restore from: run archive.verify on the same path for details.",
                      {{"path", spec.path}}, ctx))
    return;
  std::string measured = existing_ancestor(restore_target);
  support::SafeOpened measured_dir = open_named_directory(measured);
  if (!measured_dir) {
    report_target_refused(restore_target, measured, measured_dir, ctx);
    return;
  }
  FreeSpace space = measure_free_space(measured_dir, measured);
  uint64_t archive_size = static_cast<uint64_t>(target.file.st.st_size);
  std::optional<RestoreNeed> from_trailer = need_from_trailer(params, target, archive_size);
  RestoreNeed need = from_trailer ? *from_trailer : need_from_scan(target, space.block, ctx);

  Sizing s{.archive = target.path,
           .restore_target = restore_target,
           .measured = measured,
           .archive_size = archive_size,
           .need = need,
           .space = space,
           .margin = margin};
  nlohmann::json details = sizing_details(s);
  emit_metrics(s, {{"target", spec.path}, {"restore_target", restore_target}}, ctx);
  report_verdict(s, details, ctx);
}

}  // namespace

sdk::CheckType restore_space_check() {
  return {
      .type = "archive.restore_space",
      .summary = "Checks that the uncompressed archive (plus a margin) fits at the restore target",
      .doc = kDoc,
      .params_schema = sdk::parse_schema(kSchema),
      .run = &run};
}

}  // namespace backup_doctor::archive
