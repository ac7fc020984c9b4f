// s3.multipart_leftovers: incomplete multipart uploads older than a threshold. They are what an
// interrupted transfer leaves behind: invisible in listings, billed for every part they hold.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

#include <algorithm>
#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

using nlohmann::json;

namespace {

const char* kDoc =
    "Lists the bucket's incomplete multipart uploads (ListMultipartUploads, every page) under "
    "the prefix. Those initiated more than `older_than` ago are reported with key, upload id, "
    "initiation time and, from ListParts, the parts and bytes they hold; the remediation gives "
    "the exact abort command for each. Younger uploads are counted as in progress. Metrics: "
    "`multipart_leftovers` (count and bytes) and `oldest_multipart_upload_timestamp`.";

// The uploads under the prefix, split by age: the abandoned ones (oldest first) and a count of
// those young enough to still be running.
struct Uploads {
  std::vector<UploadInfo> stale;
  size_t stale_total = 0;
  size_t in_progress = 0;
};

Uploads gather_uploads(const Connection& conn, const std::string& prefix,
                       std::chrono::milliseconds older_than, int64_t now) {
  Uploads u;
  list_uploads(*conn.client, conn.bucket, prefix, [&](const UploadInfo& info) {
    if (std::chrono::seconds(now - info.initiated) >= older_than) {
      ++u.stale_total;
      u.stale.push_back(info);
    } else {
      ++u.in_progress;
    }
    return true;
  });
  std::sort(u.stale.begin(), u.stale.end(),
            [](const UploadInfo& a, const UploadInfo& b) { return a.initiated < b.initiated; });
  return u;
}

// The first max_items abandoned uploads with their parts (one ListParts each), and the abort
// command for each of them.
struct ListedUploads {
  json items = json::array();
  uint64_t bytes = 0;
  std::string commands;
};

ListedUploads list_stale_uploads(const Connection& conn, const std::vector<UploadInfo>& stale,
                                 size_t max_items, int64_t now) {
  ListedUploads out;
  for (size_t i = 0; i < stale.size() && i < max_items; ++i) {
    const auto& u = stale[i];
    PartsSummary parts = list_parts(*conn.client, conn.bucket, u.key, u.upload_id);
    out.bytes += parts.bytes;
    json item = {{"key", u.key},
                 {"upload_id", u.upload_id},
                 {"initiated", iso_time(u.initiated)},
                 {"age_seconds", now - u.initiated},
                 {"parts", parts.parts},
                 {"bytes", parts.bytes},
                 {"storage_class", u.storage_class}};
    if (!u.initiator.empty()) item["initiator"] = u.initiator;
    if (parts.truncated) item["parts_truncated"] = true;
    out.items.push_back(item);
    out.commands += "\n  " + conn.aws_cli() + " abort-multipart-upload --bucket " +
                    shell_quote(conn.bucket) + " --key " + shell_quote(u.key) + " --upload-id " +
                    shell_quote(u.upload_id);
  }
  return out;
}

void emit_metrics(const Uploads& uploads, const ListedUploads& listed, const json& labels,
                  CheckReport& out) {
  out.metric("multipart_leftovers", static_cast<double>(uploads.stale_total), "count", labels);
  out.metric("multipart_leftovers", static_cast<double>(listed.bytes), "bytes", labels);
  if (!uploads.stale.empty())
    out.metric("oldest_multipart_upload_timestamp",
               static_cast<double>(uploads.stale.front().initiated), "seconds", labels);
}

void report_abandoned(const Connection& conn, const Uploads& uploads, const ListedUploads& listed,
                      const std::string& where, int64_t now, const json& details,
                      CheckReport& out) {
  size_t stale_total = uploads.stale_total;
  const auto& oldest = uploads.stale.front();
  std::string summary = std::to_string(stale_total) + " abandoned multipart upload" +
                        (stale_total == 1 ? "" : "s") + " under " + where + " hold" +
                        (stale_total == 1 ? "s " : " ") + human_size(listed.bytes) +
                        (stale_total > listed.items.size()
                             ? " (in the " + std::to_string(listed.items.size()) + " listed)"
                             : "") +
                        "; oldest " + oldest.key + " started " +
                        format_duration(std::chrono::seconds(now - oldest.initiated)) + " ago";
  std::string remediation =
      "These uploads were started and never completed: an interrupted transfer of the backup "
      "(look at the backup job's log around " +
      iso_time(oldest.initiated) +
      "). Their parts are stored and billed but no object exists. Abort them:" + listed.commands;
  if (stale_total > listed.items.size())
    remediation += "\n  (" + std::to_string(stale_total - listed.items.size()) +
                   " more: list them with `" + conn.aws_cli() +
                   " list-multipart-uploads --bucket " + shell_quote(conn.bucket) + "`)";
  remediation +=
      "\nThen add a lifecycle rule with AbortIncompleteMultipartUpload (DaysAfterInitiation: "
      "1) on the bucket so future leftovers are removed automatically.";
  out.report(Status::warn, summary, remediation, details);
}

void run(const json& params, sdk::Context& ctx) {
  Connection conn = connect(params, ctx);
  CheckReport out(ctx, conn);
  std::string prefix = params.value("prefix", "");
  auto older_than = duration_param(params, "older_than", "24h");
  size_t max_items = params.value("max_items", 20);

  run_requests(out, conn, false, [&] {
    int64_t now = now_epoch();
    Uploads uploads = gather_uploads(conn, prefix, older_than, now);
    json labels = {{"bucket", conn.bucket}, {"prefix", prefix}};
    ListedUploads listed = list_stale_uploads(conn, uploads.stale, max_items, now);
    json details = {{"bucket", conn.bucket},
                    {"prefix", prefix},
                    {"older_than_seconds", older_than.count() / 1000},
                    {"abandoned", uploads.stale_total},
                    {"in_progress", uploads.in_progress},
                    {"uploads", listed.items},
                    {"bytes_of_listed", listed.bytes},
                    {"retries", conn.client->retry_details()}};
    emit_metrics(uploads, listed, labels, out);

    std::string where = "s3://" + conn.bucket + "/" + prefix;
    if (uploads.stale_total == 0) {
      out.report(
          Status::ok,
          "no incomplete multipart uploads older than " + format_duration(older_than) + " under " +
              where +
              (uploads.in_progress ? " (" + std::to_string(uploads.in_progress) + " in progress)"
                                   : ""),
          "", details);
      return;
    }
    report_abandoned(conn, uploads, listed, where, now, details, out);
  });
}

}  // namespace

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
  return {.type = "s3.multipart_leftovers",
          .summary = "No abandoned incomplete multipart uploads hold storage",
          .doc = kDoc,
          .params_schema = make_schema(p, {"bucket"}),
          .run = &run};
}

}  // namespace backup_doctor::s3
