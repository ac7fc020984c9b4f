// s3.freshness: the newest backup under a prefix is younger than max_age (the guide's
// "BackupTooOld" alert at 25 hours), with its timestamp as a metric.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

using nlohmann::json;

sdk::CheckType freshness_check() {
  json p = connection_properties();
  p["bucket"] = {
      {"type", "string"}, {"minLength", 1}, {"description", "Bucket holding the backups."}};
  p["prefix"] = {
      {"type", "string"},
      {"default", ""},
      {"description",
       "Only objects under this key prefix, e.g. \"database/\". Default: the whole bucket."}};
  p["suffix"] = {
      {"type", "string"},
      {"default", ""},
      {"description", "Only keys ending with this, e.g. \".sql.gz\". Default: any key."}};
  p["page_size"] = {
      {"type", "integer"},
      {"minimum", 1},
      {"maximum", 1000},
      {"default", 1000},
      {"description", "Keys per ListObjectsV2 page (some stores allow fewer). Default: 1000."}};
  p["max_age"] = sdk::duration_schema("The newest backup must be younger than this.", "25h");
  p["min_size"] = sdk::size_schema(
      "Warn when the newest backup is smaller than this (an empty or truncated upload); an "
      "integer in bytes or a string like \"1MiB\". Default: no lower limit.");

  sdk::CheckType d;
  d.type = "s3.freshness";
  d.summary = "The newest backup object under a prefix is younger than max_age";
  d.doc =
      "Lists the prefix (ListObjectsV2, every page) and takes the object with the latest "
      "LastModified, optionally only keys with a given suffix. Fails when there is none or when it "
      "is older than `max_age`; warns when it is smaller than `min_size`. Emits "
      "`newest_backup_timestamp` (seconds) so an alert can also be built on the metric.";
  d.params_schema = make_schema(p, {"bucket"});
  d.run = [](const json& params, sdk::Context& ctx) {
    Connection conn = connect(params, ctx);
    CheckReport out(ctx, conn);
    auto max_age = duration_param(params, "max_age", "25h");
    std::string prefix = params.value("prefix", "");
    std::string suffix = params.value("suffix", "");
    std::optional<uint64_t> min_size = sdk::optional_size(params, "min_size");
    std::string where = "s3://" + conn.bucket + "/" + prefix;

    run_requests(out, conn, false, [&] {
      size_t scanned = 0;
      auto newest = newest_object(*conn.client, conn.bucket, prefix, suffix, &scanned,
                                  params.value("page_size", 1000));
      json details = {{"bucket", conn.bucket},
                      {"prefix", prefix},
                      {"objects_scanned", scanned},
                      {"max_age_seconds", max_age.count() / 1000},
                      {"retries", conn.client->retry_details()}};
      json labels = {{"bucket", conn.bucket}, {"prefix", prefix}};
      if (!newest) {
        out.report(Status::fail,
                   "no backup objects under " + where + (suffix.empty() ? "" : "*" + suffix),
                   "Nothing has been uploaded there: check that the backup job's upload step "
                   "runs and targets this bucket and prefix (its log, and `" +
                       conn.aws_cli("s3") + " ls " + shell_quote(where) + " --recursive`).",
                   details);
        return;
      }
      int64_t age = now_epoch() - newest->last_modified;
      details["key"] = newest->key;
      details["size"] = newest->size;
      details["last_modified"] = iso_time(newest->last_modified);
      details["age_seconds"] = age;
      out.metric("newest_backup_timestamp", static_cast<double>(newest->last_modified), "seconds",
                 labels);
      out.metric("newest_backup_age", static_cast<double>(age), "seconds", labels);
      out.metric("newest_backup_size", static_cast<double>(newest->size), "bytes", labels);
      std::string age_text = format_duration(std::chrono::seconds(age));
      std::string object = "s3://" + conn.bucket + "/" + newest->key;
      if (std::chrono::seconds(age) > max_age) {
        out.report(Status::fail,
                   "newest backup " + object + " is " + age_text + " old (limit " +
                       format_duration(max_age) + ")",
                   "No backup reached " + where + " since " + iso_time(newest->last_modified) +
                       ". Look at the backup job's runs after that time: did it run, did the "
                       "dump succeed, did the upload fail (s3.auth, s3.reachable and "
                       "s3.multipart_leftovers point at the usual upload problems)?",
                   details);
        return;
      }
      if (min_size && newest->size < *min_size) {
        out.report(Status::warn,
                   "newest backup " + object + " is only " + human_size(newest->size) +
                       " (expected at least " + human_size(*min_size) + ")",
                   "The latest upload is suspiciously small: compare it with the local dump and "
                   "the backup log of " +
                       iso_time(newest->last_modified) +
                       "; an empty dump or an interrupted upload looks like this.",
                   details);
        return;
      }
      out.report(Status::ok, "newest backup " + object + " is " + age_text + " old", "", details);
    });
  };
  return d;
}

}  // namespace backup_doctor::s3
