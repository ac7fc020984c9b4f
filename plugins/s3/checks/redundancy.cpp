// s3.redundancy: the newest backup of the primary location also exists in the secondary one,
// with the same size and ETag (the guide's "multiple backup destinations").
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"

#include <backup_doctor/text.hpp>

#include <backup_doctor/duration.hpp>

namespace backup_doctor::s3 {

using sdk::iso_time;
using sdk::shell_quote;

using nlohmann::json;

namespace {

const char* kDoc =
    "Finds the newest backup under `prefix` in the primary bucket and looks for the same "
    "relative key under the secondary's prefix (HeadObject), possibly on another endpoint or "
    "region with other credentials. Fails when it is missing or differs in size; compares "
    "ETags when both are comparable (a copy uploaded with another part size has another "
    "multipart ETag, which is reported, not failed). Also reports the secondary's own newest "
    "backup and the lag between the two (`redundancy_lag`, seconds the secondary's newest is "
    "older than the primary's; negative when it is newer).";

// The two locations and what is compared between them.
struct Locations {
  Connection& primary;
  Connection& secondary;
  std::string prefix, suffix, sec_prefix;
  std::optional<std::chrono::milliseconds> max_lag;
};

// The primary's newest backup, where its copy should be, and what the secondary holds.
struct Copies {
  ObjectInfo newest;
  std::string relative;  // the key below the primary's prefix, the same below the secondary's
  std::string sec_key;
  std::string p_obj, s_obj;  // s3:// addresses of the two copies
  std::string copy_cmd;      // how to put the primary's copy in the secondary, for remediations
  std::optional<ObjectInfo> sec_newest;
  // Seconds the secondary's newest is older than the primary's newest; negative when it is
  // newer (a later upload there), never clamped.
  int64_t lag = 0;
  json details;
};

Copies locate_copy(const Locations& loc, const ObjectInfo& newest) {
  Copies c;
  c.newest = newest;
  c.relative = newest.key.substr(loc.prefix.size());
  c.sec_key = loc.sec_prefix + c.relative;
  c.p_obj = "s3://" + loc.primary.bucket + "/" + newest.key;
  c.s_obj = "s3://" + loc.secondary.bucket + "/" + c.sec_key;
  c.details = {{"primary",
                {{"bucket", loc.primary.bucket},
                 {"key", newest.key},
                 {"size", newest.size},
                 {"etag", newest.etag},
                 {"last_modified", iso_time(newest.last_modified)}}},
               {"secondary", {{"bucket", loc.secondary.bucket}, {"key", c.sec_key}}}};
  // The same endpoint can copy server-side; across endpoints the operator uploads again.
  if (loc.primary.client->config().endpoint == loc.secondary.client->config().endpoint)
    c.copy_cmd =
        loc.primary.aws_cli("s3") + " cp " + shell_quote(c.p_obj) + " " + shell_quote(c.s_obj);
  else
    c.copy_cmd = "upload the same local file to " + c.s_obj + " with the secondary's credentials";
  return c;
}

// The secondary's own newest backup and how far it lags behind the primary's.
void add_secondary_newest(const Locations& loc, Copies& c, CheckReport& out) {
  c.sec_newest =
      newest_object(*loc.secondary.client, loc.secondary.bucket, loc.sec_prefix, loc.suffix);
  json labels = {{"bucket", loc.secondary.bucket}, {"prefix", loc.sec_prefix}};
  if (!c.sec_newest) return;
  c.lag = c.newest.last_modified - c.sec_newest->last_modified;
  c.details["secondary"]["newest_key"] = c.sec_newest->key;
  c.details["secondary"]["newest_last_modified"] = iso_time(c.sec_newest->last_modified);
  c.details["lag_seconds"] = c.lag;
  out.metric("secondary_newest_backup_timestamp", static_cast<double>(c.sec_newest->last_modified),
             "seconds", labels);
  out.metric("redundancy_lag", static_cast<double>(c.lag), "seconds", labels);
}

// How the secondary's newest backup compares in time with the primary's newest, in whole
// seconds (the stores' timestamps have no more): "3m 5s older", "12s newer", "from the same
// second".
std::string lag_phrase(int64_t lag) {
  if (lag == 0) return "from the same second";
  std::string amount = format_duration(std::chrono::seconds(lag > 0 ? lag : -lag));
  return amount + (lag > 0 ? " older" : " newer");
}

// The secondary's state, for the remediation of a missing copy.
std::string secondary_holds(const Copies& c) {
  if (!c.sec_newest) return " (it holds no backups at all)";
  return " (its newest is " + c.sec_newest->key + ", " + lag_phrase(c.lag) + ")";
}

// HeadObject on the copy. False when it is missing (reported); other failures propagate.
bool head_copy(const Locations& loc, Copies& c, HeadInfo& head, CheckReport& out) {
  try {
    head = head_object(*loc.secondary.client, loc.secondary.bucket, c.sec_key);
    return true;
  } catch (const RequestFailed& failure) {
    const auto& r = failure.response();
    if (r.transport_ok() && (r.status == 404) && r.error.code != "NoSuchBucket") {
      c.details["retries"] = loc.primary.client->retry_details();
      out.report(Status::fail, "newest backup " + c.p_obj + " is missing from " + c.s_obj,
                 "The second destination did not receive the latest backup" + secondary_holds(c) +
                     ". Check the job's second upload or the replication rule, then copy it: `" +
                     c.copy_cmd + "`.",
                 c.details);
      return false;
    }
    throw;
  }
}

// True when the sizes differ (reported).
bool report_size_differs(const Copies& c, const HeadInfo& head, CheckReport& out) {
  if (head.size == c.newest.size) return false;
  out.report(Status::fail,
             c.s_obj + " is " + std::to_string(head.size) + " bytes, " + c.p_obj + " " +
                 std::to_string(c.newest.size),
             "The two copies of the newest backup differ: one of the uploads is truncated. "
             "Compare each with the local file (s3.object_matches) and replace the bad one: `" +
                 c.copy_cmd + "`.",
             c.details);
  return true;
}

// How the ETags compare, for the details and the ok summary; nullopt when they differ although
// comparable (reported as a corrupted copy).
std::optional<std::string> compare_etags(const Copies& c, const HeadInfo& head, CheckReport& out) {
  int pp = etag_part_count(c.newest.etag), sp = etag_part_count(head.etag);
  bool kms = head.sse == "aws:kms" || head.sse == "aws:kms:dsse";
  if (head.etag == c.newest.etag) return "same ETag";
  if (kms || pp != sp)
    return "ETags not comparable (" +
           std::string(kms ? "SSE-KMS"
                           : "different part layouts: " + std::to_string(pp) + " vs " +
                                 std::to_string(sp) + " parts") +
           "), sizes equal";
  out.report(Status::fail, c.s_obj + " has the same size as " + c.p_obj + " but a different ETag",
             "Same size, different content: one copy is corrupted. Verify each against the "
             "local file with s3.object_matches and replace the bad one: `" +
                 c.copy_cmd + "`.",
             c.details);
  return std::nullopt;
}

// `current` follows whose requests are being sent, for the diagnosis of a failure.
void compare_locations(const Locations& loc, Connection*& current, CheckReport& out) {
  auto newest = newest_object(*loc.primary.client, loc.primary.bucket, loc.prefix, loc.suffix);
  std::string primary_where = "s3://" + loc.primary.bucket + "/" + loc.prefix;
  if (!newest) {
    out.report(Status::fail, "no backups under " + primary_where + " to compare",
               "The primary location is empty: check the backup job's upload step first "
               "(s3.freshness).",
               {{"bucket", loc.primary.bucket}, {"prefix", loc.prefix}});
    return;
  }
  Copies c = locate_copy(loc, *newest);
  current = &loc.secondary;
  add_secondary_newest(loc, c, out);
  HeadInfo head;
  if (!head_copy(loc, c, head, out)) return;
  c.details["secondary"]["size"] = head.size;
  c.details["secondary"]["etag"] = head.etag;
  c.details["retries"] = loc.primary.client->retry_details();
  c.details["secondary_retries"] = loc.secondary.client->retry_details();
  if (report_size_differs(c, head, out)) return;
  std::optional<std::string> etag_note = compare_etags(c, head, out);
  if (!etag_note) return;
  c.details["etag_check"] = *etag_note;
  if (loc.max_lag && c.sec_newest && std::chrono::seconds(c.lag) > *loc.max_lag) {
    out.report(Status::warn,
               "secondary's newest backup is " + format_duration(std::chrono::seconds(c.lag)) +
                   " behind the primary's",
               "The secondary receives backups late or irregularly; check the schedule of its "
               "upload or replication.",
               c.details);
    return;
  }
  out.report(Status::ok,
             "newest backup " + c.relative + " is in both " + primary_where + " and s3://" +
                 loc.secondary.bucket + "/" + loc.sec_prefix + " (" + *etag_note + ")",
             "", c.details);
}

void run(const json& params, sdk::Context& ctx) {
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
  Locations loc{.primary = primary,
                .secondary = secondary,
                .prefix = prefix,
                .suffix = suffix,
                .sec_prefix = sec_prefix,
                .max_lag = max_lag};

  Connection* current = &primary;  // whose request failed, for the diagnosis
  try {
    compare_locations(loc, current, out);
  } catch (const RequestFailed& failure) {
    Finding f = diagnose(failure, *current, false);
    if (current == &secondary) f.summary = "secondary location: " + f.summary;
    out.finding(f, {{"retries", current->client->retry_details()}});
  } catch (const Cancelled&) {
    out.report(Status::error, "cancelled before the answer was complete",
               "The check ran out of time; raise its timeout.", json::object());
  }
}

}  // namespace

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

  return {.type = "s3.redundancy",
          .summary = "The newest backup exists in the secondary bucket with equal size and ETag",
          .doc = kDoc,
          .params_schema = make_schema(p, {"bucket", "secondary"}),
          .run = &run};
}

}  // namespace backup_doctor::s3
