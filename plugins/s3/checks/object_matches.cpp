// s3.object_matches: the newest object under a prefix (or a given key) is the local backup file:
// same size, and an ETag equal to the local MD5 (single part) or to the multipart ETag computed
// locally with the part size the upload used. Also its age, storage class and encryption.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "etag.hpp"
#include "safe_open.hpp"
#include "util.hpp"

#include <backup_doctor/duration.hpp>

#include <sys/stat.h>
#include <cctype>
#include <filesystem>

namespace backup_doctor::s3 {

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

  sdk::CheckType d;
  d.type = "s3.object_matches";
  d.summary = "The newest uploaded backup is byte-identical to the local backup file";
  d.doc =
      "Compares an object (given by `key`, or the newest under `prefix`) with a local file. Size "
      "must match. A plain ETag must equal the file's MD5; a multipart ETag (\"<md5>-<parts>\") "
      "is recomputed locally from the part MD5s, with `part_size`, or the size the store reports "
      "for part 1, or common tool defaults consistent with the part count. All candidates are "
      "computed in one read of the file (OpenSSL EVP). Objects encrypted with SSE-KMS or SSE-C "
      "have ETags that are not MD5s; for them only the size is compared, and the details say so. "
      "Also reports the object's age (`max_age`), storage class and server-side encryption.";
  d.params_schema = make_schema(p, {"bucket", "local_path"});
  d.run = [](const json& params, sdk::Context& ctx) {
    Connection conn = connect(params, ctx);
    CheckReport out(ctx, conn);
    std::string local = params.at("local_path").get<std::string>();
    // The local backup is the backup account's file: opened once through the safe-open
    // primitive (a link to a root-only file, a FIFO or a device in its place is refused, never
    // compared with what that account uploaded) and read through that descriptor.
    auto local_file = support::open_untrusted(local, support::Expect::regular);
    if (!local_file)
      throw sdk::CheckError("local_path " + local + " was not read: " + local_file.message +
                            "; name the backup file itself");
    const struct stat st = local_file.st;
    std::optional<uint64_t> part_size_param = sdk::optional_size(params, "part_size");
    if (part_size_param && *part_size_param == 0)
      throw sdk::CheckError("part_size: not a positive size");
    std::optional<std::chrono::milliseconds> max_age;
    if (params.contains("max_age")) max_age = duration_param(params, "max_age", "1d");

    run_requests(out, conn, false, [&] {
      std::string key = params.value("key", "");
      if (key.empty()) {
        std::string prefix = params.value("prefix", "");
        auto newest = newest_object(*conn.client, conn.bucket, prefix, params.value("suffix", ""));
        if (!newest) {
          out.report(Status::fail,
                     "no object under s3://" + conn.bucket + "/" + prefix + " to compare",
                     "Nothing was uploaded there: check the backup job's upload step and its "
                     "destination.",
                     {{"bucket", conn.bucket}, {"prefix", prefix}});
          return;
        }
        key = newest->key;
      }
      std::string object = "s3://" + conn.bucket + "/" + key;
      HeadInfo head = head_object(*conn.client, conn.bucket, key);
      int parts = etag_part_count(head.etag);
      int64_t age = now_epoch() - head.last_modified;

      json details = {{"bucket", conn.bucket},
                      {"key", key},
                      {"local_path", local},
                      {"remote_size", head.size},
                      {"local_size", static_cast<uint64_t>(st.st_size)},
                      {"remote_etag", head.etag},
                      {"etag_parts", parts},
                      {"last_modified", iso_time(head.last_modified)},
                      {"age_seconds", age},
                      {"storage_class", head.storage_class},
                      {"server_side_encryption", head.sse.empty() ? "none" : head.sse}};
      if (!head.sse_kms_key_id.empty()) details["kms_key_id"] = head.sse_kms_key_id;
      json labels = {{"bucket", conn.bucket}, {"key", key}};
      out.metric("object_size", static_cast<double>(head.size), "bytes", labels);
      out.metric("object_last_modified_timestamp", static_cast<double>(head.last_modified),
                 "seconds", labels);

      std::vector<Problem> problems;
      std::string upload_cmd =
          conn.aws_cli("s3") + " cp " + shell_quote(local) + " " + shell_quote(object);
      bool size_ok = head.size == static_cast<uint64_t>(st.st_size);
      if (!size_ok) {
        problems.push_back(
            {Status::fail,
             object + " is " + std::to_string(head.size) + " bytes, the local file " +
                 std::to_string(st.st_size),
             "The uploaded copy is not the local backup (a truncated upload, or a different "
             "backup under the same name). Upload it again (`" +
                 upload_cmd + "`) and compare once more."});
      }

      // ETag comparison.
      bool encrypted_etag = head.sse == "aws:kms" || head.sse == "aws:kms:dsse" ||
                            !head.sse_customer_algorithm.empty();
      std::string etag_result;
      if (!size_ok) {
        etag_result = "skipped (sizes differ)";
      } else if (encrypted_etag) {
        etag_result = "not comparable (SSE-KMS/SSE-C ETags are not MD5s)";
      } else if (parts == 0 && !is_md5_hex(head.etag)) {
        etag_result = "not comparable (the store's ETag is not an MD5)";
      } else {
        std::vector<uint64_t> candidates;
        std::string part_size_source;
        if (parts > 0) {
          if (part_size_param) {
            candidates.push_back(*part_size_param);
            part_size_source = "parameter";
          } else {
            if (parts > 1) {
              // S3 answers HEAD ?partNumber=1 with the size of the first part.
              try {
                HeadInfo first = head_object(*conn.client, conn.bucket, key, 1);
                if (first.size > 0 && first.size < head.size) {
                  candidates.push_back(first.size);
                  part_size_source = "store (part 1)";
                }
              } catch (const RequestFailed&) {
                // Not every S3-compatible store knows partNumber; fall back to guessing.
              }
            }
            for (uint64_t c : consistent_part_sizes(head.size, parts, common_part_sizes()))
              if (std::find(candidates.begin(), candidates.end(), c) == candidates.end())
                candidates.push_back(c);
            if (part_size_source.empty()) part_size_source = "common sizes";
          }
        }
        json tried = json::array();
        for (uint64_t c : candidates) tried.push_back(c);
        details["part_sizes_tried"] = tried;
        if (parts > 0) details["part_size_source"] = part_size_source;
        if (parts > 0 && candidates.empty()) {
          etag_result = "unknown part size";
          problems.push_back(
              {Status::warn,
               "cannot verify " + object + ": no common part size gives " + std::to_string(parts) +
                   " parts for " + std::to_string(head.size) + " bytes",
               "Give the part size the backup job uploads with as `part_size` (the AWS CLI's "
               "`s3.multipart_chunksize`, e.g. 16MiB) so the multipart ETag can be recomputed."});
        } else {
          LocalEtags local_etags;
          try {
            local_etags = compute_local_etags(local_file.fd.get(), local, parts == 0, candidates,
                                              [&ctx] { return ctx.cancelled(); });
          } catch (const std::exception& e) {
            throw sdk::CheckError(e.what());
          }
          if (parts == 0) {
            details["local_md5"] = local_etags.md5;
            if (local_etags.md5 == head.etag) {
              etag_result = "match (MD5)";
            } else {
              etag_result = "mismatch";
            }
          } else {
            json computed = json::object();
            for (const auto& [ps, etag] : local_etags.multipart) {
              computed[std::to_string(ps)] = etag;
              if (etag == head.etag) {
                etag_result = "match (multipart, " + std::to_string(parts) + " parts of " +
                              human_size(ps) + ")";
                details["part_size"] = ps;
              }
            }
            details["local_multipart_etags"] = computed;
            if (etag_result.empty()) etag_result = "mismatch";
          }
          if (etag_result == "mismatch") {
            problems.push_back(
                {Status::fail,
                 object + " has the same size as " + local + " but different content (ETag " +
                     head.etag + ")",
                 "The object's content is not the local backup's: a corrupted upload or another "
                 "backup written under the same key. Upload it again (`" +
                     upload_cmd +
                     "`); if the local file changed after the upload, the job uploads before the "
                     "dump is complete." +
                     (parts > 0 && !part_size_param
                          ? " If the job uses an unusual part size, set `part_size`."
                          : std::string())});
          }
        }
      }
      details["etag_check"] = etag_result;

      if (max_age && std::chrono::seconds(age) > *max_age) {
        problems.push_back({Status::fail,
                            object + " is " + format_duration(std::chrono::seconds(age)) +
                                " old (limit " + format_duration(*max_age) + ")",
                            "The compared object is stale: the latest backups are not being "
                            "uploaded; check the backup job's recent runs."});
      }
      std::string want_class = params.value("storage_class", "");
      if (!want_class.empty() && want_class != head.storage_class) {
        problems.push_back({Status::warn,
                            object + " is stored as " + head.storage_class + ", not " + want_class,
                            "Upload with `--storage-class " + want_class +
                                "` or add a lifecycle transition, so retention costs what was "
                                "planned."});
      }
      std::string want_sse = params.value("require_encryption", "");
      if (!want_sse.empty() && (head.sse.empty() || (want_sse != "any" && head.sse != want_sse))) {
        problems.push_back(
            {Status::fail,
             object + " is " +
                 (head.sse.empty() ? "not encrypted at rest" : "encrypted with " + head.sse) +
                 (want_sse == "any" ? "" : ", not " + want_sse),
             "Upload with `--sse " + (want_sse == "any" ? std::string("AES256") : want_sse) +
                 "` or set default encryption on the bucket (`" + conn.aws_cli() +
                 " put-bucket-encryption --bucket " + shell_quote(conn.bucket) + " ...`)."});
      }
      details["retries"] = conn.client->retry_details();

      if (problems.empty()) {
        out.report(Status::ok,
                   object + " matches " + local + " (" + human_size(head.size) + ", ETag " +
                       etag_result + ")",
                   "", details);
        return;
      }
      Status worst = Status::warn;
      for (const auto& pr : problems)
        if (pr.status == Status::fail) worst = Status::fail;
      std::string summary, remediation;
      for (const auto& pr : problems) {
        if (pr.status != worst) continue;
        summary += (summary.empty() ? "" : "; ") + pr.summary;
      }
      for (const auto& pr : problems)
        remediation += (remediation.empty() ? "" : "\n") + pr.remediation;
      json list = json::array();
      for (const auto& pr : problems) list.push_back(pr.summary);
      details["problems"] = list;
      out.report(worst, summary, remediation, details);
    });
  };
  return d;
}

}  // namespace backup_doctor::s3
