// s3.usage: object count and bytes under a prefix (every ListObjectsV2 page) against a quota:
// the guide's "aws s3 ls --recursive --summarize", with a limit attached.
#include <backup_doctor/schema.hpp>
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"

#include <backup_doctor/text.hpp>

#include <algorithm>
#include <map>

namespace backup_doctor::s3 {

using sdk::human_size;

using nlohmann::json;

namespace {

const char* kDoc =
    "Lists every page of ListObjectsV2 under the prefix and adds up objects and bytes, per "
    "storage class. With `quota`, warns above `warn_ratio` of it and fails above it; with "
    "`max_objects`, fails above that count. Metrics: `storage_used` (bytes), `storage_objects` "
    "(count) and, with a quota, `storage_quota_used` (ratio).";

// What one pass over the listing adds up.
struct Usage {
  uint64_t bytes = 0, count = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_class;  // count, bytes
  std::vector<std::pair<uint64_t, std::string>> largest;          // size, key; largest first
};

Usage gather_usage(const Connection& conn, const std::string& prefix, size_t max_items,
                   int page_size) {
  Usage u;
  list_objects(
      *conn.client, conn.bucket, prefix,
      [&](const ObjectInfo& o) {
        ++u.count;
        u.bytes += o.size;
        auto& c = u.by_class[o.storage_class];
        ++c.first;
        c.second += o.size;
        if (max_items > 0) {
          u.largest.emplace_back(o.size, o.key);
          if (u.largest.size() > max_items * 4) {  // keep the candidate list small
            std::partial_sort(u.largest.begin(), u.largest.begin() + max_items, u.largest.end(),
                              std::greater<>());
            u.largest.resize(max_items);
          }
        }
        return true;
      },
      page_size);
  std::sort(u.largest.begin(), u.largest.end(), std::greater<>());
  if (u.largest.size() > max_items) u.largest.resize(max_items);
  return u;
}

json usage_details(const Connection& conn, const std::string& prefix, const Usage& u) {
  json classes = json::object();
  for (const auto& [cls, v] : u.by_class)
    classes[cls] = {{"objects", v.first}, {"bytes", v.second}};
  json top = json::array();
  for (const auto& [size, key] : u.largest) top.push_back({{"key", key}, {"size", size}});
  return {{"bucket", conn.bucket},
          {"prefix", prefix},
          {"objects", u.count},
          {"bytes", u.bytes},
          {"by_storage_class", classes},
          {"largest", top},
          {"retries", conn.client->retry_details()}};
}

// Compares the bytes with the quota: fail when exhausted, warn above warn_ratio, else ok.
void report_quota(uint64_t bytes, uint64_t quota, double warn_ratio, const std::string& usage,
                  const std::string& cleanup, const json& labels, json& details, CheckReport& out) {
  double ratio = static_cast<double>(bytes) / static_cast<double>(quota);
  details["quota"] = quota;
  details["quota_used_ratio"] = ratio;
  out.metric("storage_quota_used", ratio, "ratio", labels);
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%", ratio * 100);
  std::string summary = usage + ", " + pct + " of the " + human_size(quota) + " quota";
  if (ratio >= 1.0) {
    out.report(Status::fail, summary,
               "The quota is exhausted, so the next upload will be refused. Free " +
                   human_size(bytes - quota) + " at least. " + cleanup,
               details);
    return;
  }
  if (ratio >= warn_ratio) {
    out.report(Status::warn, summary,
               "Only " + human_size(quota - bytes) + " left before uploads fail. " + cleanup,
               details);
    return;
  }
  out.report(Status::ok, summary, "", details);
}

void run(const json& params, sdk::Context& ctx) {
  Connection conn = connect(params, ctx);
  CheckReport out(ctx, conn);
  std::string prefix = params.value("prefix", "");
  std::optional<uint64_t> quota = sdk::optional_size(params, "quota");
  if (quota && *quota == 0) throw sdk::CheckError("quota: not a positive size");
  double warn_ratio = params.value("warn_ratio", 0.8);
  std::optional<uint64_t> max_objects;
  if (params.contains("max_objects")) max_objects = params["max_objects"].get<uint64_t>();
  size_t max_items = params.value("max_items", 5);
  std::string where = "s3://" + conn.bucket + "/" + prefix;

  run_requests(out, conn, false, [&] {
    Usage u = gather_usage(conn, prefix, max_items, params.value("page_size", 1000));
    json details = usage_details(conn, prefix, u);
    json labels = {{"bucket", conn.bucket}, {"prefix", prefix}};
    out.metric("storage_used", static_cast<double>(u.bytes), "bytes", labels);
    out.metric("storage_objects", static_cast<double>(u.count), "count", labels);

    std::string usage =
        human_size(u.bytes) + " in " + std::to_string(u.count) + " objects under " + where;
    std::string cleanup =
        "Expire old backups under " + where +
        " with a lifecycle rule (Expiration after the retention period, and "
        "AbortIncompleteMultipartUpload for stalled uploads), move older ones to a cheaper "
        "storage class, or raise the quota.";
    if (max_objects && u.count > *max_objects) {
      details["max_objects"] = *max_objects;
      out.report(Status::fail,
                 usage + ": more than the " + std::to_string(*max_objects) + " allowed",
                 "Retention is not removing old backups. " + cleanup, details);
      return;
    }
    if (quota) {
      report_quota(u.bytes, *quota, warn_ratio, usage, cleanup, labels, details, out);
      return;
    }
    out.report(Status::ok, usage, "", details);
  });
}

}  // namespace

sdk::CheckType usage_check() {
  json p = connection_properties();
  p["bucket"] = {
      {"type", "string"}, {"minLength", 1}, {"description", "Bucket holding the backups."}};
  p["prefix"] = {{"type", "string"},
                 {"default", ""},
                 {"description", "Key prefix to measure. Default: the whole bucket."}};
  p["quota"] = sdk::size_schema(
      "Space the backups may use under the prefix: integer bytes or a string like \"500GiB\". "
      "Default: none (only measure).");
  p["warn_ratio"] = {{"type", "number"},
                     {"exclusiveMinimum", 0},
                     {"maximum", 1},
                     {"default", 0.8},
                     {"description", "Warn above this fraction of the quota. Default: 0.8."}};
  p["max_objects"] = {{"type", "integer"},
                      {"minimum", 1},
                      {"description", "Fail above this many objects. Default: no limit."}};
  p["page_size"] = {
      {"type", "integer"},
      {"minimum", 1},
      {"maximum", 1000},
      {"default", 1000},
      {"description", "Keys per ListObjectsV2 page (some stores allow fewer). Default: 1000."}};
  p["max_items"] = {
      {"type", "integer"},
      {"minimum", 0},
      {"default", 5},
      {"description", "How many of the largest objects to list in the details. Default: 5."}};

  return {.type = "s3.usage",
          .summary = "Object count and bytes under a prefix stay within a quota",
          .doc = kDoc,
          .params_schema = make_schema(p, {"bucket"}),
          .run = &run};
}

}  // namespace backup_doctor::s3
