// archive.restore_space: would a restore of the archive fit where it would be restored? The
// guide compares `du -sh` of the compressed file with `df -h`, which misses the point: the
// restore needs the uncompressed size (and one inode per entry).
#include "checks.hpp"
#include "scan.hpp"
#include "space.hpp"
#include "target.hpp"
#include "util.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace backup_doctor::archive {
namespace {

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "restore_target"],
  "properties": {
    "path": {"type": "string", "minLength": 1,
      "description": "The archive file; or a directory, whose newest file matching `pattern` is used; or a directory and glob in one."},
    "pattern": {"type": "string", "minLength": 1, "default": "*",
      "description": "Glob for the file name when `path` is a directory. Default `*` (checksum and temporary files excluded)."},
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
        (refused.message.empty() ? std::strerror(refused.error) : refused.message));
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

void run(const nlohmann::json& params, sdk::Context& ctx) {
  TargetSpec spec;
  spec.path = params.at("path").get<std::string>();
  spec.pattern = params.value("pattern", std::string("*"));
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
  struct statvfs vfs {};
  if (::fstatvfs(measured_dir.fd.get(), &vfs) != 0)
    throw sdk::CheckError("cannot measure free space at " + measured + ": " + std::strerror(errno));
  uint64_t block = vfs.f_frsize ? vfs.f_frsize : 4096;
  uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * block;
  bool inodes_known = vfs.f_files > 0;  // btrfs and some network filesystems report none
  uint64_t free_inodes = vfs.f_favail;
  uint64_t archive_size = static_cast<uint64_t>(target.file.st.st_size);

  std::string source_used = "scan";
  uint64_t need_bytes = 0, need_inodes = 0, content_bytes = 0;
  bool count_inodes = true;
  std::optional<Damage> damage;
  if (params.value("size_source", std::string("scan")) == "gzip_trailer") {
    if (auto size = gzip_trailer_size(target.file.fd.get(), archive_size)) {
      source_used = "gzip_trailer";
      content_bytes = *size;
      need_bytes = *size;
      count_inodes = false;
    }
  }
  if (source_used == "scan") {
    ScanOptions options;
    options.hash = false;
    options.cancelled = [&ctx] { return ctx.cancelled(); };
    options.on_entry = [&](const EntryInfo& e) {
      if (e.type == EntryType::hardlink) return;  // shares the inode and blocks of its target
      ++need_inodes;
      uint64_t size = static_cast<uint64_t>(std::max<int64_t>(0, e.size));
      content_bytes += size;
      // Sparse entries are extracted sparse: only their data regions take blocks.
      uint64_t allocated = static_cast<uint64_t>(std::max<int64_t>(0, e.allocated));
      need_bytes += e.type == EntryType::file ? (allocated + block - 1) / block * block : block;
    };
    ScanResult scan = scan_archive(std::move(target.file), target.path, options);
    if (scan.walk.cancelled) throw sdk::CheckError("cancelled while reading " + target.path);
    if (!scan.walk.is_tar) {  // a compressed dump: restored as one file
      need_inodes = 1;
      content_bytes = scan.walk.stream_bytes;
      need_bytes = (content_bytes + block - 1) / block * block;
    }
    damage = scan.walk.damage;
  }

  nlohmann::json details = {{"archive", target.path},       {"archive_size_bytes", archive_size},
                            {"size_source", source_used},   {"content_bytes", content_bytes},
                            {"required_bytes", need_bytes}, {"restore_target", restore_target},
                            {"measured_path", measured},    {"filesystem", mount_point(measured)},
                            {"free_bytes", free_bytes},     {"margin_percent", margin * 100}};
  if (count_inodes) details["required_inodes"] = need_inodes;
  if (inodes_known) details["free_inodes"] = free_inodes;
  if (damage) details["damage"] = damage->to_json();

  nlohmann::json labels = {{"target", spec.path}, {"restore_target", restore_target}};
  ctx.metric("archive_restore_required", static_cast<double>(need_bytes), "bytes", labels);
  ctx.metric("archive_restore_free", static_cast<double>(free_bytes), "bytes", labels);
  if (count_inodes)
    ctx.metric("archive_restore_required_inodes", static_cast<double>(need_inodes), "count",
               labels);
  if (inodes_known)
    ctx.metric("archive_restore_free_inodes", static_cast<double>(free_inodes), "count", labels);

  std::string fs = mount_point(measured);
  auto with_margin = [margin](uint64_t v) {
    return static_cast<uint64_t>(static_cast<double>(v) * (1 + margin));
  };
  Room bytes_room = judge_room(need_bytes, free_bytes, margin);
  Room inodes_room =
      count_inodes && inodes_known ? judge_room(need_inodes, free_inodes, margin) : Room::enough;
  bool bytes_short = bytes_room == Room::short_of;
  bool inodes_short = inodes_room == Room::short_of;
  bool bytes_tight = bytes_room != Room::enough;
  bool inodes_tight = inodes_room != Room::enough;
  std::string need_text = human_size(need_bytes) +
                          (count_inodes ? " in " + std::to_string(need_inodes) + " inodes" : "");
  std::string have_text =
      human_size(free_bytes) + " free" +
      (inodes_known ? " and " + std::to_string(free_inodes) + " free inodes" : "");
  std::string partial = damage ? " (the archive is damaged, so this counts only the entries before "
                                 "the damage; see archive.verify)"
                               : "";
  std::string head = "restoring " + target.path + " into " + restore_target + " needs " +
                     need_text + "; " + fs + " has " + have_text;
  if (bytes_short || inodes_short) {
    std::string remediation = "Before a restore is needed, make room on " + fs + ": ";
    if (bytes_short)
      remediation += "free at least " + human_size(with_margin(need_bytes) - free_bytes) +
                     " (`du -xsh " + shell_quote(fs) + "/* | sort -h | tail` shows where it went)";
    if (inodes_short)
      remediation += std::string(bytes_short ? ", and " : "") + "free " +
                     std::to_string(with_margin(need_inodes) - free_inodes) +
                     " inodes (many small files; `du -x --inodes " + shell_quote(fs) +
                     " | sort -n | tail` finds them)";
    remediation += "; or plan the restore onto a larger filesystem (`tar -x -f " +
                   shell_quote(target.path) + " -C /path/on/bigger/fs`)." + partial;
    ctx.fail(head + ": not enough" + partial, remediation, details);
    return;
  }
  if (bytes_tight || inodes_tight || damage) {
    std::string remediation =
        damage ? "The archive is damaged; size estimate covers only its readable part. Run "
                 "archive.verify on " +
                     target.path + ". "
               : "";
    if (bytes_tight || inodes_tight)
      remediation += "The restore would fit but leave less than the " +
                     std::to_string(static_cast<int>(margin * 100)) + "% margin on " + fs +
                     ": free some space there (or grow the filesystem) so a restore during an "
                     "incident does not fill it.";
    ctx.warn(head + (bytes_tight || inodes_tight ? ": less than the margin left" : "") + partial,
             remediation, details);
    return;
  }
  ctx.ok(head, details);
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
