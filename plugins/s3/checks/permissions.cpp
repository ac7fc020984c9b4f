// s3.permissions: the backup identity may do what uploads and cleanups need. Read-only by
// default (ListBucket, GetBucketLocation, HeadObject, ListBucketMultipartUploads); with
// write_probe, a uniquely named probe object under a scratch prefix is put, read back and
// deleted, and a multipart upload is created and aborted. Whatever the probe creates it removes.
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "wire_format.hpp"
#include "xml.hpp"

#include <backup_doctor/text.hpp>

#include <unistd.h>
#include <algorithm>
#include <random>

namespace backup_doctor::s3 {

using sdk::iso_time;
using sdk::shell_quote;

using nlohmann::json;

namespace {

struct Probe {
  std::string operation;
  std::string result;  // allowed, denied, skipped, mismatch
  long status = 0;
  std::string code, note;
  bool required = true;
};

bool is_denial(const Response& r) {
  return r.transport_ok() && r.status == 403 &&
         (r.error.code == "AccessDenied" || r.error.code == "Forbidden" ||
          r.error.code == "AllAccessDisabled");
}

std::string probe_name() {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  std::mt19937_64 rng{std::random_device{}()};
  char rnd[17];
  std::snprintf(rnd, sizeof rnd, "%016llx", static_cast<unsigned long long>(rng()));
  return "backup-doctor-probe-" + std::string(host) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(now_epoch()) + "-" + rnd;
}

const char* kDoc =
    "Read-only by default: ListObjectsV2 (s3:ListBucket), GetBucketLocation, HeadObject "
    "(s3:GetObject) on `key` or the first object under the prefix, and ListMultipartUploads. "
    "With `write_probe: true` it also PUTs, GETs (comparing the content) and DELETEs a probe "
    "object named backup-doctor-probe-<host>-<pid>-<time>-<random> under `scratch_prefix`, and "
    "creates and aborts a multipart upload on it; cleanup runs even when a step fails, and "
    "anything it could not remove is named in the result. Fails listing the denied IAM actions "
    "with a policy statement that grants them; GetBucketLocation and "
    "ListBucketMultipartUploads denials only warn.";

// The probes sent so far and what the write probe could not remove.
struct Probing {
  const Connection& conn;
  std::vector<Probe> probes{};
  json leftovers = json::array();
};

// Sends one probe: allowed or denied are results; any other failure is not a permission
// answer and goes to the common diagnosis.
std::optional<Response> send_probe(Probing& pb, const Request& req, bool required = true) {
  Response r = pb.conn.client->send(req);
  Probe pr{req.operation, "allowed", r.status, r.error.code, "", required};
  if (r.ok()) {
    pb.probes.push_back(pr);
    return r;
  }
  if (is_denial(r)) {
    pr.result = "denied";
    pb.probes.push_back(pr);
    return std::nullopt;
  }
  throw RequestFailed(req.operation, pb.conn.bucket, req.key, r);
}

// ListObjectsV2 under the prefix; returns the key for HeadObject: `key`, else the first listed.
std::string probe_list(Probing& pb, const std::string& prefix, std::string key) {
  Request list;
  list.operation = "ListObjectsV2";
  list.bucket = pb.conn.bucket;
  list.query = {{"list-type", "2"}, {"max-keys", "1"}};
  if (!prefix.empty()) list.query.emplace_back("prefix", prefix);
  if (auto r = send_probe(pb, list); r && key.empty()) {
    if (auto doc = XmlDocument::parse(r->body))
      if (auto c = doc->root().child("Contents")) key = c->child_text("Key");
  }
  return key;
}

void probe_location(Probing& pb) {
  Request location;
  location.operation = "GetBucketLocation";
  location.bucket = pb.conn.bucket;
  location.query = {{"location", ""}};
  send_probe(pb, location, false);
}

void probe_head(Probing& pb, const std::string& key) {
  if (key.empty()) {
    pb.probes.push_back({"HeadObject", "skipped", 0, "", "no object under the prefix", true});
    return;
  }
  const Connection& conn = pb.conn;
  Request head;
  head.operation = "HeadObject";
  head.method = "HEAD";
  head.bucket = conn.bucket;
  head.key = key;
  Response r = conn.client->send(head);
  if (r.ok()) {
    pb.probes.push_back({"HeadObject", "allowed", r.status, "", key, true});
  } else if (r.transport_ok() && r.status == 403) {
    // A bare 403 on HEAD: make sure it is a denial and not a credential problem.
    Request get = head;
    get.method = "GET";
    get.headers.emplace_back("Range", "bytes=0-0");
    Response g = conn.client->send(get);
    if (is_denial(g))
      pb.probes.push_back({"HeadObject", "denied", 403, g.error.code, key, true});
    else if (!g.ok())
      throw RequestFailed("HeadObject", conn.bucket, key, g);
    else
      pb.probes.push_back({"HeadObject", "allowed", g.status, "", key, true});
  } else {
    throw RequestFailed("HeadObject", conn.bucket, key, r);
  }
}

void probe_uploads(Probing& pb, const std::string& prefix) {
  Request uploads;
  uploads.operation = "ListMultipartUploads";
  uploads.bucket = pb.conn.bucket;
  uploads.query = {{"uploads", ""}, {"max-uploads", "1"}};
  if (!prefix.empty()) uploads.query.emplace_back("prefix", prefix);
  send_probe(pb, uploads, false);
}

// PUTs the probe object and reads it back. `created` is set as soon as the PUT passed, so that
// a failure after it still removes the object.
void put_and_read_back(Probing& pb, const std::string& key, const std::string& content,
                       bool& created) {
  Request put;
  put.operation = "PutObject";
  put.method = "PUT";
  put.bucket = pb.conn.bucket;
  put.key = key;
  put.body = content;
  put.content_type = "text/plain";
  created = send_probe(pb, put).has_value();
  if (!created) return;
  Request get;
  get.operation = "GetObject";
  get.bucket = pb.conn.bucket;
  get.key = key;
  if (auto r = send_probe(pb, get); r && r->body != content) {
    pb.probes.back().result = "mismatch";
    pb.probes.back().note = "read back " + std::to_string(r->body.size()) +
                            " bytes that differ from the " + std::to_string(content.size()) +
                            " written";
  }
}

// Creates a multipart upload on `key`.multipart; returns its id, "" when there is none.
std::string create_multipart(Probing& pb, const std::string& key) {
  Request create;
  create.operation = "CreateMultipartUpload";
  create.method = "POST";
  create.bucket = pb.conn.bucket;
  create.key = key + ".multipart";
  create.query = {{"uploads", ""}};
  std::string upload_id;
  if (auto r = send_probe(pb, create)) {
    if (auto doc = XmlDocument::parse(r->body)) upload_id = doc->root().child_text("UploadId");
    if (upload_id.empty()) {
      pb.probes.back().result = "mismatch";
      pb.probes.back().note = "no UploadId in the answer";
    }
  }
  return upload_id;
}

Request delete_request(const Connection& conn, const std::string& key) {
  Request del;
  del.operation = "DeleteObject";
  del.method = "DELETE";
  del.bucket = conn.bucket;
  del.key = key;
  return del;
}

json object_leftover(const Connection& conn, const std::string& key) {
  return {{"key", key},
          {"command", conn.aws_cli() + " delete-object --bucket " + shell_quote(conn.bucket) +
                          " --key " + shell_quote(key)}};
}

// Removes the probe object (a probe of DeleteObject itself), or says it was never created.
void delete_probe_object(Probing& pb, const std::string& key, bool created) {
  if (!created) {
    pb.probes.push_back({"DeleteObject", "skipped", 0, "", "nothing was created", true});
    return;
  }
  if (!send_probe(pb, delete_request(pb.conn, key)))
    pb.leftovers.push_back(object_leftover(pb.conn, key));
}

void abort_probe_upload(Probing& pb, const std::string& key, const std::string& upload_id) {
  if (upload_id.empty()) {
    pb.probes.push_back({"AbortMultipartUpload", "skipped", 0, "", "no upload was created", true});
    return;
  }
  const Connection& conn = pb.conn;
  Request abort;
  abort.operation = "AbortMultipartUpload";
  abort.method = "DELETE";
  abort.bucket = conn.bucket;
  abort.key = key + ".multipart";
  abort.query = {{"uploadId", upload_id}};
  if (!send_probe(pb, abort))
    pb.leftovers.push_back(
        {{"key", abort.key},
         {"upload_id", upload_id},
         {"command", conn.aws_cli() + " abort-multipart-upload --bucket " +
                         shell_quote(conn.bucket) + " --key " + shell_quote(abort.key) +
                         " --upload-id " + shell_quote(upload_id)}});
}

// The write probe; returns the probe object's key. Whatever it created it removes, also when a
// step fails (then the failure is rethrown for the diagnosis).
std::string probe_write(Probing& pb, const std::string& scratch) {
  std::string probe_key = scratch + probe_name();
  std::string content = "backup-doctor write probe " + iso_time(now_epoch()) + "\n";
  bool created = false;
  std::string upload_id;
  try {
    put_and_read_back(pb, probe_key, content, created);
    upload_id = create_multipart(pb, probe_key);
  } catch (...) {
    if (created) {
      Response r = pb.conn.client->send(delete_request(pb.conn, probe_key));
      if (!r.ok()) pb.leftovers.push_back(object_leftover(pb.conn, probe_key));
    }
    throw;
  }
  delete_probe_object(pb, probe_key, created);
  abort_probe_upload(pb, probe_key, upload_id);
  return probe_key;
}

// The probes sorted by what they mean for the verdict, and listed for the details.
struct Classified {
  json probes_json = json::array();
  std::vector<std::string> denied_required, denied_optional, mismatched;
};

Classified classify(const std::vector<Probe>& probes, const std::string& bucket) {
  Classified c;
  for (const auto& pr : probes) {
    json j = {{"operation", pr.operation},
              {"action", iam_action(pr.operation)},
              {"resource", iam_resource(pr.operation, bucket)},
              {"result", pr.result}};
    if (pr.status) j["http_status"] = pr.status;
    if (!pr.code.empty() && pr.result != "allowed") j["code"] = pr.code;
    if (!pr.note.empty()) j["note"] = pr.note;
    c.probes_json.push_back(j);
    if (pr.result == "denied")
      (pr.required ? c.denied_required : c.denied_optional).push_back(pr.operation);
    if (pr.result == "mismatch") c.mismatched.push_back(pr.operation + ": " + pr.note);
  }
  return c;
}

// "s3:ListBucket, s3:GetObject": the distinct IAM actions of the operations, in order.
std::string actions_text(const std::vector<std::string>& ops) {
  std::vector<std::string> actions;
  for (const auto& op : ops) {
    auto a = iam_action(op);
    if (std::find(actions.begin(), actions.end(), a) == actions.end()) actions.push_back(a);
  }
  std::string t;
  for (const auto& a : actions) t += (t.empty() ? "" : ", ") + a;
  return t;
}

// The commands that remove what the probe left, for the end of a remediation; "" when none.
std::string leftover_text(const json& leftovers) {
  std::string text;
  for (const auto& l : leftovers) text += "\n  " + l["command"].get<std::string>();
  if (!text.empty()) text = "\nThe probe could not remove what it created; remove it with:" + text;
  return text;
}

// A required action denied, or a write read back wrong: fail.
void report_failed(const Classified& c, const std::vector<std::string>& all_denied,
                   const std::string& grant, const std::string& leftovers, const std::string& where,
                   const std::string& bucket, const json& details, CheckReport& out) {
  std::string summary;
  if (!c.denied_required.empty())
    summary = "denied on " + bucket + ": " + actions_text(c.denied_required);
  if (!c.mismatched.empty()) summary += (summary.empty() ? "" : "; ") + c.mismatched.front();
  std::string remediation =
      (c.denied_required.empty()
           ? std::string()
           : "Backups to " + where + " need " + actions_text(all_denied) + "." + grant) +
      (c.mismatched.empty() ? std::string()
                            : " The store returned other content than was written: check "
                              "for a caching proxy or a misbehaving gateway in front of it.") +
      leftovers;
  out.report(Status::fail, summary, remediation, details);
}

// Only optional actions denied, or the probe left something behind: warn.
void report_warned(const Classified& c, const std::string& grant, const std::string& leftovers,
                   const std::string& bucket, const json& details, CheckReport& out) {
  out.report(Status::warn,
             c.denied_optional.empty()
                 ? "permissions fine, but the probe left objects behind"
                 : "denied on " + bucket + ": " + actions_text(c.denied_optional) +
                       " (needed to find the region and to clean up stalled uploads)",
             (c.denied_optional.empty() ? std::string() : grant.substr(1)) + leftovers, details);
}

void report_verdict(const Probing& pb, const std::string& prefix, bool write,
                    const std::string& probe_key, CheckReport& out) {
  const Connection& conn = pb.conn;
  Classified c = classify(pb.probes, conn.bucket);
  json details = {{"bucket", conn.bucket},     {"prefix", prefix},
                  {"write_probe", write},      {"probes", c.probes_json},
                  {"leftovers", pb.leftovers}, {"retries", conn.client->retry_details()}};
  if (write) details["probe_key"] = probe_key;

  std::string leftovers = leftover_text(pb.leftovers);
  std::vector<std::string> all_denied = c.denied_required;
  all_denied.insert(all_denied.end(), c.denied_optional.begin(), c.denied_optional.end());
  std::string grant = all_denied.empty() ? std::string()
                                         : " Grant them to the backup identity: " +
                                               policy_statement(all_denied, conn.bucket);
  if (!c.denied_required.empty() || !c.mismatched.empty()) {
    report_failed(c, all_denied, grant, leftovers, "s3://" + conn.bucket + "/" + prefix,
                  conn.bucket, details, out);
    return;
  }
  if (!c.denied_optional.empty() || !pb.leftovers.empty()) {
    report_warned(c, grant, leftovers, conn.bucket, details, out);
    return;
  }
  size_t allowed = 0;
  for (const auto& pr : pb.probes) allowed += pr.result == "allowed";
  out.report(Status::ok,
             std::to_string(allowed) + " operations allowed on " + conn.bucket +
                 (write ? " (read and write probe, cleaned up)" : " (read-only probe)"),
             "", details);
}

void run(const json& params, sdk::Context& ctx) {
  Connection conn = connect(params, ctx);
  CheckReport out(ctx, conn);
  std::string prefix = params.value("prefix", "");
  bool write = params.value("write_probe", false);
  std::string scratch = params.value("scratch_prefix", "backup-doctor-probe/");
  Probing pb{.conn = conn};

  run_requests(out, conn, true, [&] {
    std::string key = probe_list(pb, prefix, params.value("key", ""));
    probe_location(pb);
    probe_head(pb, key);
    probe_uploads(pb, prefix);
    std::string probe_key;
    if (write) probe_key = probe_write(pb, scratch);
    report_verdict(pb, prefix, write, probe_key, out);
  });
}

}  // namespace

sdk::CheckType permissions_check() {
  json p = connection_properties();
  p["bucket"] = {
      {"type", "string"}, {"minLength", 1}, {"description", "Bucket the backups go to."}};
  p["prefix"] = {{"type", "string"},
                 {"default", ""},
                 {"description",
                  "Key prefix of the backups (listing and HeadObject happen there). Default: the "
                  "whole bucket."}};
  p["key"] = {{"type", "string"},
              {"minLength", 1},
              {"description",
               "Object for the HeadObject probe. Default: the first object under `prefix`."}};
  p["write_probe"] = {{"type", "boolean"},
                      {"default", false},
                      {"description",
                       "Also test writing: PUT, GET and DELETE a uniquely named probe object under "
                       "`scratch_prefix`, and create and abort a multipart upload there. It writes "
                       "to the bucket, so it is off unless asked for. Default: false."}};
  p["scratch_prefix"] = {{"type", "string"},
                         {"minLength", 1},
                         {"default", "backup-doctor-probe/"},
                         {"description",
                          "Where the write probe may create (and then removes) its object. "
                          "Default: \"backup-doctor-probe/\"."}};

  return {.type = "s3.permissions",
          .summary = "The backup identity has the S3 permissions uploads and cleanups need",
          .doc = kDoc,
          .params_schema = make_schema(p, {"bucket"}),
          .run = &run};
}

}  // namespace backup_doctor::s3
