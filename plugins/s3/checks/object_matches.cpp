// s3.object_matches: the newest object under a prefix (or a given key) is the local backup file:
// same size, and an ETag equal to the local MD5 (single part) or to the multipart ETag computed
// locally with the part size the upload used. Also its age, storage class and encryption.
#include <backup_doctor/schema.hpp>
#include <backup_doctor/support/safe_open.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "etag.hpp"
#include "wire_format.hpp"

#include <backup_doctor/system.hpp>
#include <backup_doctor/text.hpp>

#include <backup_doctor/duration.hpp>

#include <sys/stat.h>
#include <cctype>
#include <cerrno>
#include <filesystem>

namespace backup_doctor::s3 {

using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

using nlohmann::json;

namespace {

bool is_md5_hex(const std::string& s) {
  if (s.size() != 32) return false;
  for (unsigned char c : s)
    if (!std::isxdigit(c)) return false;
  return true;
}

struct Problem {
  Status status;
  std::string summary, remediation;
};

const char* kDoc =
    "Compares an object (given by `key`, or the newest under `prefix`) with a local file. Size "
    "must match. A plain ETag must equal the file's MD5; a multipart ETag (\"<md5>-<parts>\") "
    "is recomputed locally from the part MD5s, with `part_size`, or the size the store reports "
    "for part 1, or common tool defaults consistent with the part count. All candidates are "
    "computed in one read of the file (OpenSSL EVP). Objects encrypted with SSE-KMS or SSE-C "
    "have ETags that are not MD5s; for them only the size is compared, and the details say so. "
    "Also reports the object's age (`max_age`), storage class and server-side encryption.";

// The object, the local file, and what has been found wrong with the pair so far.
struct Comparison {
  const Connection& conn;
  const std::string& local;
  int local_fd;
  const struct stat& st;
  std::optional<uint64_t> part_size_param;
  std::string key{};
  std::string object{};  // s3://bucket/key
  HeadInfo head{};
  int parts = 0;    // of the ETag; 0 for a single-part upload
  int64_t age = 0;  // seconds since the object was last modified
  std::string upload_cmd{};
  json details{};
  std::vector<Problem> problems{};
};

// The key to compare: `key`, else the newest under the prefix; nullopt when there is none
// (reported).
std::optional<std::string> object_key(const json& params, const Connection& conn,
                                      CheckReport& out) {
  std::string key = params.value("key", "");
  if (!key.empty()) return key;
  std::string prefix = params.value("prefix", "");
  auto newest = newest_object(*conn.client, conn.bucket, prefix, params.value("suffix", ""));
  if (!newest) {
    out.report(Status::fail, "no object under s3://" + conn.bucket + "/" + prefix + " to compare",
               "Nothing was uploaded there: check the backup job's upload step and its "
               "destination.",
               {{"bucket", conn.bucket}, {"prefix", prefix}});
    return std::nullopt;
  }
  return newest->key;
}

// HeadObject on the key: the details and the object's metrics.
void head_remote(Comparison& c, CheckReport& out) {
  const Connection& conn = c.conn;
  c.object = "s3://" + conn.bucket + "/" + c.key;
  c.head = head_object(*conn.client, conn.bucket, c.key);
  c.parts = etag_part_count(c.head.etag);
  c.age = now_epoch() - c.head.last_modified;
  const HeadInfo& head = c.head;
  c.details = {{"bucket", conn.bucket},
               {"key", c.key},
               {"local_path", c.local},
               {"remote_size", head.size},
               {"local_size", static_cast<uint64_t>(c.st.st_size)},
               {"remote_etag", head.etag},
               {"etag_parts", c.parts},
               {"last_modified", iso_time(head.last_modified)},
               {"age_seconds", c.age},
               {"storage_class", head.storage_class},
               {"server_side_encryption", head.sse.empty() ? "none" : head.sse}};
  if (!head.sse_kms_key_id.empty()) c.details["kms_key_id"] = head.sse_kms_key_id;
  json labels = {{"bucket", conn.bucket}, {"key", c.key}};
  out.metric("object_size", static_cast<double>(head.size), "bytes", labels);
  out.metric("object_last_modified_timestamp", static_cast<double>(head.last_modified), "seconds",
             labels);
}

// True when the sizes match; else adds the problem.
bool check_size(Comparison& c) {
  if (c.head.size == static_cast<uint64_t>(c.st.st_size)) return true;
  c.problems.push_back(
      {Status::fail,
       c.object + " is " + std::to_string(c.head.size) + " bytes, the local file " +
           std::to_string(c.st.st_size),
       "The uploaded copy is not the local backup (a truncated upload, or a different "
       "backup under the same name). Upload it again (`" +
           c.upload_cmd + "`) and compare once more."});
  return false;
}

// The part sizes to recompute a multipart ETag with, and where they came from: the parameter,
// else what the store says part 1 holds, then the common sizes consistent with the part count.
std::vector<uint64_t> part_size_candidates(const Comparison& c, std::string& source) {
  std::vector<uint64_t> candidates;
  if (c.parts == 0) return candidates;
  if (c.part_size_param) {
    candidates.push_back(*c.part_size_param);
    source = "parameter";
    return candidates;
  }
  if (c.parts > 1) {
    // S3 answers HEAD ?partNumber=1 with the size of the first part.
    try {
      HeadInfo first = head_object(*c.conn.client, c.conn.bucket, c.key, 1);
      if (first.size > 0 && first.size < c.head.size) {
        candidates.push_back(first.size);
        source = "store (part 1)";
      }
    } catch (const RequestFailed&) {
      // Not every S3-compatible store knows partNumber; fall back to guessing.
    }
  }
  for (uint64_t size : consistent_part_sizes(c.head.size, c.parts, common_part_sizes()))
    if (std::find(candidates.begin(), candidates.end(), size) == candidates.end())
      candidates.push_back(size);
  if (source.empty()) source = "common sizes";
  return candidates;
}

// The local file opened but reading it back failed (an I/O error on its disk, a file system
// that went away): the dump cannot be trusted, whatever the object holds.
void add_local_read_failure(Comparison& c, int err) {
  c.details["local_read_error"] = sdk::errno_text(err);
  c.problems.push_back(
      {Status::fail, "local backup file " + c.local + " is unreadable: " + sdk::errno_text(err),
       "Reading " + c.local +
           " back failed partway, so it was not compared with the object. Check the disk and "
           "file system holding it (`dmesg`, `smartctl -a`), then run the backup job again: a "
           "dump that cannot be read back cannot be restored either."});
}

// Reads the local file once and compares its MD5 or multipart ETags with the object's:
// "match (...)" or "mismatch".
std::string match_local_etags(Comparison& c, const std::vector<uint64_t>& candidates,
                              sdk::Context& ctx) {
  LocalEtags local_etags;
  try {
    local_etags = compute_local_etags(c.local_fd, c.local, c.parts == 0, candidates,
                                      [&ctx] { return ctx.cancelled(); });
  } catch (const LocalReadError& e) {
    add_local_read_failure(c, e.error);
    return "not compared (the local file could not be read)";
  } catch (const std::exception& e) {
    throw sdk::CheckError(e.what());
  }
  if (c.parts == 0) {
    c.details["local_md5"] = local_etags.md5;
    return local_etags.md5 == c.head.etag ? "match (MD5)" : "mismatch";
  }
  std::string result;
  json computed = json::object();
  for (const auto& [ps, etag] : local_etags.multipart) {
    computed[std::to_string(ps)] = etag;
    if (etag == c.head.etag) {
      result = "match (multipart, " + std::to_string(c.parts) + " parts of " + human_size(ps) + ")";
      c.details["part_size"] = ps;
    }
  }
  c.details["local_multipart_etags"] = computed;
  if (result.empty()) result = "mismatch";
  return result;
}

void add_content_mismatch(Comparison& c) {
  c.problems.push_back(
      {Status::fail,
       c.object + " has the same size as " + c.local + " but different content (ETag " +
           c.head.etag + ")",
       "The object's content is not the local backup's: a corrupted upload or another "
       "backup written under the same key. Upload it again (`" +
           c.upload_cmd +
           "`); if the local file changed after the upload, the job uploads before the "
           "dump is complete." +
           (c.parts > 0 && !c.part_size_param
                ? " If the job uses an unusual part size, set `part_size`."
                : std::string())});
}

// The ETag comparison, as the details' etag_check says it; adds its problem if any.
std::string check_etag(Comparison& c, bool size_ok, sdk::Context& ctx) {
  const HeadInfo& head = c.head;
  bool encrypted_etag =
      head.sse == "aws:kms" || head.sse == "aws:kms:dsse" || !head.sse_customer_algorithm.empty();
  if (!size_ok) return "skipped (sizes differ)";
  if (encrypted_etag) return "not comparable (SSE-KMS/SSE-C ETags are not MD5s)";
  if (c.parts == 0 && !is_md5_hex(head.etag))
    return "not comparable (the store's ETag is not an MD5)";
  std::string part_size_source;
  std::vector<uint64_t> candidates = part_size_candidates(c, part_size_source);
  json tried = json::array();
  for (uint64_t size : candidates) tried.push_back(size);
  c.details["part_sizes_tried"] = tried;
  if (c.parts > 0) c.details["part_size_source"] = part_size_source;
  if (c.parts > 0 && candidates.empty()) {
    c.problems.push_back(
        {Status::warn,
         "cannot verify " + c.object + ": no common part size gives " + std::to_string(c.parts) +
             " parts for " + std::to_string(head.size) + " bytes",
         "Give the part size the backup job uploads with as `part_size` (the AWS CLI's "
         "`s3.multipart_chunksize`, e.g. 16MiB) so the multipart ETag can be recomputed."});
    return "unknown part size";
  }
  std::string result = match_local_etags(c, candidates, ctx);
  if (result == "mismatch") add_content_mismatch(c);
  return result;
}

void check_age(Comparison& c, const std::optional<std::chrono::milliseconds>& max_age) {
  if (!max_age || std::chrono::seconds(c.age) <= *max_age) return;
  c.problems.push_back({Status::fail,
                        c.object + " is " + format_duration(std::chrono::seconds(c.age)) +
                            " old (limit " + format_duration(*max_age) + ")",
                        "The compared object is stale: the latest backups are not being "
                        "uploaded; check the backup job's recent runs."});
}

void check_storage_class(Comparison& c, const std::string& want_class) {
  if (want_class.empty() || want_class == c.head.storage_class) return;
  c.problems.push_back({Status::warn,
                        c.object + " is stored as " + c.head.storage_class + ", not " + want_class,
                        "Upload with `--storage-class " + want_class +
                            "` or add a lifecycle transition, so retention costs what was "
                            "planned."});
}

void check_encryption(Comparison& c, const std::string& want_sse) {
  const std::string& sse = c.head.sse;
  if (want_sse.empty() || !(sse.empty() || (want_sse != "any" && sse != want_sse))) return;
  c.problems.push_back(
      {Status::fail,
       c.object + " is " + (sse.empty() ? "not encrypted at rest" : "encrypted with " + sse) +
           (want_sse == "any" ? "" : ", not " + want_sse),
       "Upload with `--sse " + (want_sse == "any" ? std::string("AES256") : want_sse) +
           "` or set default encryption on the bucket (`" + c.conn.aws_cli() +
           " put-bucket-encryption --bucket " + shell_quote(c.conn.bucket) + " ...`)."});
}

// The worst status wins; the summary names the problems of that status, the remediation all.
void report_problems(Comparison& c, CheckReport& out) {
  const std::vector<Problem>& problems = c.problems;
  Status worst = Status::warn;
  for (const auto& pr : problems)
    if (pr.status == Status::fail) worst = Status::fail;
  std::string summary, remediation;
  for (const auto& pr : problems) {
    if (pr.status != worst) continue;
    summary += (summary.empty() ? "" : "; ") + pr.summary;
  }
  for (const auto& pr : problems) remediation += (remediation.empty() ? "" : "\n") + pr.remediation;
  json list = json::array();
  for (const auto& pr : problems) list.push_back(pr.summary);
  c.details["problems"] = list;
  out.report(worst, summary, remediation, c.details);
}

void compare(const json& params, Comparison& c,
             const std::optional<std::chrono::milliseconds>& max_age, sdk::Context& ctx,
             CheckReport& out) {
  std::optional<std::string> key = object_key(params, c.conn, out);
  if (!key) return;
  c.key = *key;
  head_remote(c, out);
  c.upload_cmd = c.conn.aws_cli("s3") + " cp " + shell_quote(c.local) + " " + shell_quote(c.object);
  bool size_ok = check_size(c);
  std::string etag_result = check_etag(c, size_ok, ctx);
  c.details["etag_check"] = etag_result;
  check_age(c, max_age);
  check_storage_class(c, params.value("storage_class", ""));
  check_encryption(c, params.value("require_encryption", ""));
  c.details["retries"] = c.conn.client->retry_details();
  if (!c.problems.empty()) {
    report_problems(c, out);
    return;
  }
  out.report(Status::ok,
             c.object + " matches " + c.local + " (" + human_size(c.head.size) + ", ETag " +
                 etag_result + ")",
             "", c.details);
}

// The highest directory above `path` that does not exist, or "" when its directory does.
std::string missing_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::string missing;
  struct stat st {};
  while (!dir.empty() && dir != dir.parent_path() && ::lstat(dir.c_str(), &st) != 0 &&
         errno == ENOENT) {
    missing = dir.string();
    dir = dir.parent_path();
  }
  return missing;
}

// The local backup file is not there: a finding about the backup job, compared with nothing.
void report_local_missing(const std::string& local, CheckReport& out) {
  std::string dir = missing_directory(local);
  out.report(Status::fail, "local backup file " + local + " is missing",
             "Nothing was compared with the store: there is no " + local +
                 (dir.empty() ? std::string() : " (its directory " + dir + " does not exist)") +
                 ". Check that the backup job's last run wrote its dump there, and that "
                 "`local_path` matches the name it writes (date in the name, compression "
                 "suffix, directory).",
             {{"local_path", local}, {"etag_check", "not compared"}});
}

// The local backup file exists but cannot be opened for reading.
void report_local_unreadable(const std::string& local, const support::SafeOpened& opened,
                             CheckReport& out) {
  std::string why = sdk::errno_text(opened.error);
  out.report(Status::fail, "local backup file " + local + " is unreadable: " + why,
             "Nothing was compared with the store: " + local + " could not be opened (" + why +
                 "). Give the account backup-doctor runs as read access to the dump and its "
                 "directories (`namei -l " +
                 shell_quote(local) + "`), or run the check as the backup account.",
             {{"local_path", local}, {"local_read_error", why}, {"etag_check", "not compared"}});
}

// True when the local file could not be opened (reported). A missing or unreadable dump is a
// finding; a link, a device or a directory in its place is a `local_path` that names something
// other than a backup file, which the check refuses to read.
bool report_local_unopened(const std::string& local, const support::SafeOpened& opened,
                           CheckReport& out) {
  switch (opened.refusal) {
    case support::Refusal::none:
      return false;
    case support::Refusal::missing:
      report_local_missing(local, out);
      return true;
    case support::Refusal::denied:
    case support::Refusal::failed:
      report_local_unreadable(local, opened, out);
      return true;
    default:
      throw sdk::CheckError("local_path " + local + " was not read: " + opened.message,
                            "Set `local_path` to the backup file itself: links, directories, "
                            "FIFOs and devices are never read in its place, so that nobody who "
                            "can write there makes the check read another file.");
  }
}

void run(const json& params, sdk::Context& ctx) {
  Connection conn = connect(params, ctx);
  CheckReport out(ctx, conn);
  std::string local = params.at("local_path").get<std::string>();
  // The local backup is the backup account's file: opened once through the safe-open
  // primitive (a link to a root-only file, a FIFO or a device in its place is refused, never
  // compared with what that account uploaded) and read through that descriptor.
  auto local_file = support::open_untrusted(local, support::Expect::regular);
  if (report_local_unopened(local, local_file, out)) return;
  const struct stat st = local_file.st;
  std::optional<uint64_t> part_size_param = sdk::optional_size(params, "part_size");
  if (part_size_param && *part_size_param == 0)
    throw sdk::CheckError("part_size: not a positive size");
  std::optional<std::chrono::milliseconds> max_age;
  if (params.contains("max_age")) max_age = duration_param(params, "max_age", "1d");

  run_requests(out, conn, false, [&] {
    Comparison c{.conn = conn,
                 .local = local,
                 .local_fd = local_file.fd.get(),
                 .st = st,
                 .part_size_param = part_size_param};
    compare(params, c, max_age, ctx, out);
  });
}

}  // namespace

sdk::CheckType object_matches_check() {
  json p = connection_properties();
  p["bucket"] = {
      {"type", "string"}, {"minLength", 1}, {"description", "Bucket holding the backups."}};
  p["key"] = {{"type", "string"},
              {"minLength", 1},
              {"description", "Object to compare. Default: the newest object under `prefix`."}};
  p["prefix"] = {
      {"type", "string"},
      {"default", ""},
      {"description",
       "Where to look for the newest object when `key` is not given. Default: the whole bucket."}};
  p["suffix"] = {{"type", "string"},
                 {"default", ""},
                 {"description",
                  "Only keys ending with this when looking for the newest object. Default: any."}};
  p["local_path"] = {
      {"type", "string"},
      {"minLength", 1},
      {"description",
       "The local backup file the object should be a copy of (read only; a link, a FIFO or a "
       "device in its place is refused)."}};
  p["part_size"] = sdk::size_schema(
      "Part size the upload used (the AWS CLI's s3.multipart_chunksize), integer bytes or "
      "\"16MiB\". Default: asked from the store (HEAD partNumber=1), else found by trying common "
      "sizes (8 MiB, 16 MiB, 5 MiB, 15 MiB, ...) that give the ETag's part count.");
  p["max_age"] = {{"type", "string"},
                  {"minLength", 1},
                  {"pattern", kDurationPattern},
                  {"description", "Fail when the object is older than this. Default: no limit."}};
  p["storage_class"] = {
      {"type", "string"},
      {"description",
       "Expected storage class, e.g. \"STANDARD_IA\"; warn on another. Default: any."}};
  p["require_encryption"] = {
      {"type", "string"},
      {"enum", {"any", "AES256", "aws:kms", "aws:kms:dsse"}},
      {"description",
       "Fail unless the object is encrypted at rest: \"any\" server-side encryption, or this "
       "algorithm. Default: not required."}};

  return {.type = "s3.object_matches",
          .summary = "The newest uploaded backup is byte-identical to the local backup file",
          .doc = kDoc,
          .params_schema = make_schema(p, {"bucket", "local_path"}),
          .run = &run};
}

}  // namespace backup_doctor::s3
