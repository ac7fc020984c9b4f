// s3.multipart_leftovers: incomplete multipart uploads older than a threshold. They are what an
// interrupted transfer leaves behind: invisible in listings, billed for every part they hold.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "util.hpp"

#include <algorithm>
#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using nlohmann::json;

sdk::CheckType multipart_leftovers_check() {
  json p = connection_properties();
  p["bucket"] = {
      {"type", "string"}, {"minLength", 1}, {"description", "Bucket holding the backups."}};
  p["prefix"] = {{"type", "string"},
                 {"default", ""},
                 {"description", "Only uploads under this key prefix. Default: the whole bucket."}};
  p["older_than"] = sdk::duration_schema(
      "Uploads initiated longer ago than this count as abandoned; younger ones may still be "
      "running.",
      "24h");
  p["max_items"] = {{"type", "integer"},
                    {"minimum", 1},
                    {"default", 20},
                    {"description",
                     "How many abandoned uploads to list (with their parts) in the details and the "
                     "remediation; the total is always counted. Default: 20."}};

  sdk::CheckType d;
  d.type = "s3.multipart_leftovers";
  d.summary = "No abandoned incomplete multipart uploads hold storage";
  d.doc =
      "Lists the bucket's incomplete multipart uploads (ListMultipartUploads, every page) under "
      "the prefix. Those initiated more than `older_than` ago are reported with key, upload id, "
      "initiation time and, from ListParts, the parts and bytes they hold; the remediation gives "
      "the exact abort command for each. Younger uploads are counted as in progress. Metrics: "
      "`multipart_leftovers` (count and bytes) and `oldest_multipart_upload_timestamp`.";
  d.params_schema = make_schema(p, {"bucket"});
  d.run = [](const json& params, sdk::Context& ctx) {
    Connection conn = connect(params, ctx);
    CheckReport out(ctx, conn);
    std::string prefix = params.value("prefix", "");
    auto older_than = duration_param(params, "older_than", "24h");
    size_t max_items = params.value("max_items", 20);

    run_requests(out, conn, false, [&] {
      int64_t now = now_epoch();
      std::vector<UploadInfo> stale;
      size_t stale_total = 0, in_progress = 0;
      list_uploads(*conn.client, conn.bucket, prefix, [&](const UploadInfo& u) {
        if (std::chrono::seconds(now - u.initiated) >= older_than) {
          ++stale_total;
          stale.push_back(u);
        } else {
          ++in_progress;
        }
        return true;
      });
      std::sort(stale.begin(), stale.end(),
                [](const UploadInfo& a, const UploadInfo& b) { return a.initiated < b.initiated; });

      json labels = {{"bucket", conn.bucket}, {"prefix", prefix}};
      json listed = json::array();
      uint64_t bytes = 0;
      std::string commands;
      for (size_t i = 0; i < stale.size() && i < max_items; ++i) {
        const auto& u = stale[i];
        PartsSummary parts = list_parts(*conn.client, conn.bucket, u.key, u.upload_id);
        bytes += parts.bytes;
        json item = {{"key", u.key},
                     {"upload_id", u.upload_id},
                     {"initiated", iso_time(u.initiated)},
                     {"age_seconds", now - u.initiated},
                     {"parts", parts.parts},
                     {"bytes", parts.bytes},
                     {"storage_class", u.storage_class}};
        if (!u.initiator.empty()) item["initiator"] = u.initiator;
        if (parts.truncated) item["parts_truncated"] = true;
        listed.push_back(item);
        commands += "\n  " + conn.aws_cli() + " abort-multipart-upload --bucket " +
                    shell_quote(conn.bucket) + " --key " + shell_quote(u.key) + " --upload-id " +
                    shell_quote(u.upload_id);
      }
      json details = {{"bucket", conn.bucket},
                      {"prefix", prefix},
                      {"older_than_seconds", older_than.count() / 1000},
                      {"abandoned", stale_total},
                      {"in_progress", in_progress},
                      {"uploads", listed},
                      {"bytes_of_listed", bytes},
                      {"retries", conn.client->retry_details()}};
      out.metric("multipart_leftovers", static_cast<double>(stale_total), "count", labels);
      out.metric("multipart_leftovers", static_cast<double>(bytes), "bytes", labels);
      if (!stale.empty())
        out.metric("oldest_multipart_upload_timestamp",
                   static_cast<double>(stale.front().initiated), "seconds", labels);

      std::string where = "s3://" + conn.bucket + "/" + prefix;
      if (stale_total == 0) {
        out.report(Status::ok,
                   "no incomplete multipart uploads older than " + format_duration(older_than) +
                       " under " + where +
                       (in_progress ? " (" + std::to_string(in_progress) + " in progress)" : ""),
                   "", details);
        return;
      }
      const auto& oldest = stale.front();
      std::string summary =
          std::to_string(stale_total) + " abandoned multipart upload" +
          (stale_total == 1 ? "" : "s") + " under " + where + " hold" +
          (stale_total == 1 ? "s " : " ") + human_size(bytes) +
          (stale_total > listed.size() ? " (in the " + std::to_string(listed.size()) + " listed)"
                                       : "") +
          "; oldest " + oldest.key + " started " +
          format_duration(std::chrono::seconds(now - oldest.initiated)) + " ago";
      std::string remediation =
          "These uploads were started and never completed: an interrupted transfer of the backup "
          "(look at the backup job's log around " +
          iso_time(oldest.initiated) +
          "). Their parts are stored and billed but no object exists. Abort them:" + commands;
      if (stale_total > listed.size())
        remediation += "\n  (" + std::to_string(stale_total - listed.size()) +
                       " more: list them with `" + conn.aws_cli() +
                       " list-multipart-uploads --bucket " + shell_quote(conn.bucket) + "`)";
      remediation +=
          "\nThen add a lifecycle rule with AbortIncompleteMultipartUpload (DaysAfterInitiation: "
          "1) on the bucket so future leftovers are removed automatically.";
      out.report(Status::warn, summary, remediation, details);
    });
  };
  return d;
}

}  // namespace backup_doctor::s3
