// s3.redundancy: the newest backup of the primary location also exists in the secondary one,
// with the same size and ETag (the guide's "multiple backup destinations").
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "util.hpp"

#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using nlohmann::json;

sdk::CheckType redundancy_check() {
  json p = connection_properties();
  p["bucket"] = {{"type", "string"}, {"minLength", 1}, {"description", "Primary bucket."}};
  p["prefix"] = {{"type", "string"},
                 {"default", ""},
                 {"description",
                  "Key prefix of the backups in the primary bucket. Default: the whole bucket."}};
  p["suffix"] = {{"type", "string"},
                 {"default", ""},
                 {"description", "Only keys ending with this count as backups. Default: any."}};
  json secondary = {{"type", "object"},
                    {"additionalProperties", false},
                    {"required", {"bucket"}},
                    {"properties", location_properties()},
                    {"description",
                     "The secondary location: `bucket`, optional `prefix` (default: the "
                     "primary's), and any connection parameter that differs from the primary "
                     "(endpoint, region, credentials, ...)."}};
  p["secondary"] = secondary;
  p["max_lag"] = {{"type", "string"},
                  {"minLength", 1},
                  {"pattern", kDurationPattern},
                  {"description",
                   "Warn when the secondary's newest backup is older than the primary's by more "
                   "than this. Default: no limit (only the newest primary backup must be there)."}};

  sdk::CheckType d;
  d.type = "s3.redundancy";
  d.summary = "The newest backup exists in the secondary bucket with equal size and ETag";
  d.doc =
      "Finds the newest backup under `prefix` in the primary bucket and looks for the same "
      "relative key under the secondary's prefix (HeadObject), possibly on another endpoint or "
      "region with other credentials. Fails when it is missing or differs in size; compares "
      "ETags when both are comparable (a copy uploaded with another part size has another "
      "multipart ETag, which is reported, not failed). Also reports the secondary's own newest "
      "backup and the lag between the two (`redundancy_lag`, seconds).";
  d.params_schema = make_schema(p, {"bucket", "secondary"});
  d.run = [](const json& params, sdk::Context& ctx) {
    Connection primary = connect(params, ctx);
    const json& sec_params = params.at("secondary");
    Connection secondary = connect(params, ctx, true, sec_params);
    CheckReport out(ctx, primary);
    out.add_connection(secondary);
    std::string prefix = params.value("prefix", "");
    std::string suffix = params.value("suffix", "");
    std::string sec_prefix = sec_params.value("prefix", prefix);
    std::optional<std::chrono::milliseconds> max_lag;
    if (params.contains("max_lag")) max_lag = duration_param(params, "max_lag", "1d");

    Connection* current = &primary;  // whose request failed, for the diagnosis
    auto body = [&] {
      auto newest = newest_object(*primary.client, primary.bucket, prefix, suffix);
      std::string primary_where = "s3://" + primary.bucket + "/" + prefix;
      if (!newest) {
        out.report(Status::fail, "no backups under " + primary_where + " to compare",
                   "The primary location is empty: check the backup job's upload step first "
                   "(s3.freshness).",
                   {{"bucket", primary.bucket}, {"prefix", prefix}});
        return;
      }
      std::string relative = newest->key.substr(prefix.size());
      std::string sec_key = sec_prefix + relative;
      std::string p_obj = "s3://" + primary.bucket + "/" + newest->key;
      std::string s_obj = "s3://" + secondary.bucket + "/" + sec_key;
      json details = {{"primary",
                       {{"bucket", primary.bucket},
                        {"key", newest->key},
                        {"size", newest->size},
                        {"etag", newest->etag},
                        {"last_modified", iso_time(newest->last_modified)}}},
                      {"secondary", {{"bucket", secondary.bucket}, {"key", sec_key}}}};

      current = &secondary;
      auto sec_newest = newest_object(*secondary.client, secondary.bucket, sec_prefix, suffix);
      json labels = {{"bucket", secondary.bucket}, {"prefix", sec_prefix}};
      int64_t lag = 0;
      if (sec_newest) {
        lag = std::max<int64_t>(0, newest->last_modified - sec_newest->last_modified);
        details["secondary"]["newest_key"] = sec_newest->key;
        details["secondary"]["newest_last_modified"] = iso_time(sec_newest->last_modified);
        details["lag_seconds"] = lag;
        out.metric("secondary_newest_backup_timestamp",
                   static_cast<double>(sec_newest->last_modified), "seconds", labels);
        out.metric("redundancy_lag", static_cast<double>(lag), "seconds", labels);
      }

      std::string copy_cmd;
      if (primary.client->config().endpoint == secondary.client->config().endpoint)
        copy_cmd = primary.aws_cli("s3") + " cp " + shell_quote(p_obj) + " " + shell_quote(s_obj);
      else
        copy_cmd = "upload the same local file to " + s_obj + " with the secondary's credentials";

      HeadInfo head;
      try {
        head = head_object(*secondary.client, secondary.bucket, sec_key);
      } catch (const RequestFailed& failure) {
        const auto& r = failure.response();
        if (r.transport_ok() && (r.status == 404) && r.error.code != "NoSuchBucket") {
          details["retries"] = primary.client->retry_details();
          out.report(
              Status::fail, "newest backup " + p_obj + " is missing from " + s_obj,
              "The second destination did not receive the latest backup" +
                  std::string(sec_newest
                                  ? " (its newest is " + sec_newest->key + ", " +
                                        format_duration(std::chrono::seconds(lag)) + " older)"
                                  : " (it holds no backups at all)") +
                  ". Check the job's second upload or the replication rule, then copy it: `" +
                  copy_cmd + "`.",
              details);
          return;
        }
        throw;
      }
      details["secondary"]["size"] = head.size;
      details["secondary"]["etag"] = head.etag;
      details["retries"] = primary.client->retry_details();
      details["secondary_retries"] = secondary.client->retry_details();

      if (head.size != newest->size) {
        out.report(
            Status::fail,
            s_obj + " is " + std::to_string(head.size) + " bytes, " + p_obj + " " +
                std::to_string(newest->size),
            "The two copies of the newest backup differ: one of the uploads is truncated. "
            "Compare each with the local file (s3.object_matches) and replace the bad one: `" +
                copy_cmd + "`.",
            details);
        return;
      }
      int pp = etag_part_count(newest->etag), sp = etag_part_count(head.etag);
      bool kms = head.sse == "aws:kms" || head.sse == "aws:kms:dsse";
      std::string etag_note;
      if (head.etag == newest->etag) {
        etag_note = "same ETag";
      } else if (kms || pp != sp) {
        etag_note = "ETags not comparable (" +
                    std::string(kms ? "SSE-KMS"
                                    : "different part layouts: " + std::to_string(pp) + " vs " +
                                          std::to_string(sp) + " parts") +
                    "), sizes equal";
      } else {
        out.report(Status::fail, s_obj + " has the same size as " + p_obj + " but a different ETag",
                   "Same size, different content: one copy is corrupted. Verify each against the "
                   "local file with s3.object_matches and replace the bad one: `" +
                       copy_cmd + "`.",
                   details);
        return;
      }
      details["etag_check"] = etag_note;
      if (max_lag && sec_newest && std::chrono::seconds(lag) > *max_lag) {
        out.report(Status::warn,
                   "secondary's newest backup is " + format_duration(std::chrono::seconds(lag)) +
                       " behind the primary's",
                   "The secondary receives backups late or irregularly; check the schedule of its "
                   "upload or replication.",
                   details);
        return;
      }
      out.report(Status::ok,
                 "newest backup " + relative + " is in both " + primary_where + " and s3://" +
                     secondary.bucket + "/" + sec_prefix + " (" + etag_note + ")",
                 "", details);
    };
    try {
      body();
    } catch (const RequestFailed& failure) {
      Finding f = diagnose(failure, *current, false);
      if (current == &secondary) f.summary = "secondary location: " + f.summary;
      out.finding(f, {{"retries", current->client->retry_details()}});
    } catch (const Cancelled&) {
      out.report(Status::error, "cancelled before the answer was complete",
                 "The check ran out of time; raise its timeout.", json::object());
    }
  };
  return d;
}

}  // namespace backup_doctor::s3
