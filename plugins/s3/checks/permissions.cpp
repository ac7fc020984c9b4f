// s3.permissions: the backup identity may do what uploads and cleanups need. Read-only by
// default (ListBucket, GetBucketLocation, HeadObject, ListBucketMultipartUploads); with
// write_probe, a uniquely named probe object under a scratch prefix is put, read back and
// deleted, and a multipart upload is created and aborted. Whatever the probe creates it removes.
#include "checks.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "util.hpp"
#include "xml.hpp"

#include <unistd.h>
#include <algorithm>
#include <random>

namespace backup_doctor::s3 {

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

  sdk::CheckType d;
  d.type = "s3.permissions";
  d.summary = "The backup identity has the S3 permissions uploads and cleanups need";
  d.doc =
      "Read-only by default: ListObjectsV2 (s3:ListBucket), GetBucketLocation, HeadObject "
      "(s3:GetObject) on `key` or the first object under the prefix, and ListMultipartUploads. "
      "With `write_probe: true` it also PUTs, GETs (comparing the content) and DELETEs a probe "
      "object named backup-doctor-probe-<host>-<pid>-<time>-<random> under `scratch_prefix`, and "
      "creates and aborts a multipart upload on it; cleanup runs even when a step fails, and "
      "anything it could not remove is named in the result. Fails listing the denied IAM actions "
      "with a policy statement that grants them; GetBucketLocation and "
      "ListBucketMultipartUploads denials only warn.";
  d.params_schema = make_schema(p, {"bucket"});
  d.run = [](const json& params, sdk::Context& ctx) {
    Connection conn = connect(params, ctx);
    CheckReport out(ctx, conn);
    std::string prefix = params.value("prefix", "");
    bool write = params.value("write_probe", false);
    std::string scratch = params.value("scratch_prefix", "backup-doctor-probe/");
    Client& client = *conn.client;
    std::vector<Probe> probes;
    json leftovers = json::array();

    // Sends one probe: allowed or denied are results; any other failure is not a permission
    // answer and goes to the common diagnosis.
    auto probe = [&](Request req, bool required = true) -> std::optional<Response> {
      Response r = client.send(req);
      Probe pr{req.operation, "allowed", r.status, r.error.code, "", required};
      if (r.ok()) {
        probes.push_back(pr);
        return r;
      }
      if (is_denial(r)) {
        pr.result = "denied";
        probes.push_back(pr);
        return std::nullopt;
      }
      throw RequestFailed(req.operation, conn.bucket, req.key, r);
    };

    run_requests(out, conn, true, [&] {
      Request list;
      list.operation = "ListObjectsV2";
      list.bucket = conn.bucket;
      list.query = {{"list-type", "2"}, {"max-keys", "1"}};
      if (!prefix.empty()) list.query.emplace_back("prefix", prefix);
      std::string key = params.value("key", "");
      if (auto r = probe(list); r && key.empty()) {
        if (auto doc = XmlDocument::parse(r->body))
          if (auto c = doc->root().child("Contents")) key = c->child_text("Key");
      }

      Request location;
      location.operation = "GetBucketLocation";
      location.bucket = conn.bucket;
      location.query = {{"location", ""}};
      probe(location, false);

      if (key.empty()) {
        probes.push_back({"HeadObject", "skipped", 0, "", "no object under the prefix", true});
      } else {
        Request head;
        head.operation = "HeadObject";
        head.method = "HEAD";
        head.bucket = conn.bucket;
        head.key = key;
        Response r = client.send(head);
        if (r.ok()) {
          probes.push_back({"HeadObject", "allowed", r.status, "", key, true});
        } else if (r.transport_ok() && r.status == 403) {
          // A bare 403 on HEAD: make sure it is a denial and not a credential problem.
          Request get = head;
          get.method = "GET";
          get.headers.emplace_back("Range", "bytes=0-0");
          Response g = client.send(get);
          if (is_denial(g))
            probes.push_back({"HeadObject", "denied", 403, g.error.code, key, true});
          else if (!g.ok())
            throw RequestFailed("HeadObject", conn.bucket, key, g);
          else
            probes.push_back({"HeadObject", "allowed", g.status, "", key, true});
        } else {
          throw RequestFailed("HeadObject", conn.bucket, key, r);
        }
      }

      Request uploads;
      uploads.operation = "ListMultipartUploads";
      uploads.bucket = conn.bucket;
      uploads.query = {{"uploads", ""}, {"max-uploads", "1"}};
      if (!prefix.empty()) uploads.query.emplace_back("prefix", prefix);
      probe(uploads, false);

      std::string probe_key;
      if (write) {
        probe_key = scratch + probe_name();
        std::string content = "backup-doctor write probe " + iso_time(now_epoch()) + "\n";
        bool created = false;
        std::string upload_id;
        try {
          Request put;
          put.operation = "PutObject";
          put.method = "PUT";
          put.bucket = conn.bucket;
          put.key = probe_key;
          put.body = content;
          put.content_type = "text/plain";
          created = probe(put).has_value();
          if (created) {
            Request get;
            get.operation = "GetObject";
            get.bucket = conn.bucket;
            get.key = probe_key;
            if (auto r = probe(get); r && r->body != content) {
              probes.back().result = "mismatch";
              probes.back().note = "read back " + std::to_string(r->body.size()) +
                                   " bytes that differ from the " + std::to_string(content.size()) +
                                   " written";
            }
          }
          Request create;
          create.operation = "CreateMultipartUpload";
          create.method = "POST";
          create.bucket = conn.bucket;
          create.key = probe_key + ".multipart";
          create.query = {{"uploads", ""}};
          if (auto r = probe(create)) {
            if (auto doc = XmlDocument::parse(r->body))
              upload_id = doc->root().child_text("UploadId");
            if (upload_id.empty()) {
              probes.back().result = "mismatch";
              probes.back().note = "no UploadId in the answer";
            }
          }
        } catch (...) {
          // Clean up below, then let the failure be diagnosed.
          if (created) {
            Request del;
            del.operation = "DeleteObject";
            del.method = "DELETE";
            del.bucket = conn.bucket;
            del.key = probe_key;
            Response r = client.send(del);
            if (!r.ok())
              leftovers.push_back(
                  {{"key", probe_key},
                   {"command", conn.aws_cli() + " delete-object --bucket " +
                                   shell_quote(conn.bucket) + " --key " + shell_quote(probe_key)}});
          }
          throw;
        }
        if (created) {
          Request del;
          del.operation = "DeleteObject";
          del.method = "DELETE";
          del.bucket = conn.bucket;
          del.key = probe_key;
          if (!probe(del))
            leftovers.push_back(
                {{"key", probe_key},
                 {"command", conn.aws_cli() + " delete-object --bucket " +
                                 shell_quote(conn.bucket) + " --key " + shell_quote(probe_key)}});
        } else {
          probes.push_back({"DeleteObject", "skipped", 0, "", "nothing was created", true});
        }
        if (!upload_id.empty()) {
          Request abort;
          abort.operation = "AbortMultipartUpload";
          abort.method = "DELETE";
          abort.bucket = conn.bucket;
          abort.key = probe_key + ".multipart";
          abort.query = {{"uploadId", upload_id}};
          if (!probe(abort))
            leftovers.push_back(
                {{"key", abort.key},
                 {"upload_id", upload_id},
                 {"command", conn.aws_cli() + " abort-multipart-upload --bucket " +
                                 shell_quote(conn.bucket) + " --key " + shell_quote(abort.key) +
                                 " --upload-id " + shell_quote(upload_id)}});
        } else {
          probes.push_back(
              {"AbortMultipartUpload", "skipped", 0, "", "no upload was created", true});
        }
      }

      json list_json = json::array();
      std::vector<std::string> denied_required, denied_optional, mismatched;
      for (const auto& pr : probes) {
        json j = {{"operation", pr.operation},
                  {"action", iam_action(pr.operation)},
                  {"resource", iam_resource(pr.operation, conn.bucket)},
                  {"result", pr.result}};
        if (pr.status) j["http_status"] = pr.status;
        if (!pr.code.empty() && pr.result != "allowed") j["code"] = pr.code;
        if (!pr.note.empty()) j["note"] = pr.note;
        list_json.push_back(j);
        if (pr.result == "denied")
          (pr.required ? denied_required : denied_optional).push_back(pr.operation);
        if (pr.result == "mismatch") mismatched.push_back(pr.operation + ": " + pr.note);
      }
      json details = {{"bucket", conn.bucket},  {"prefix", prefix},
                      {"write_probe", write},   {"probes", list_json},
                      {"leftovers", leftovers}, {"retries", conn.client->retry_details()}};
      if (write) details["probe_key"] = probe_key;

      auto actions_text = [](const std::vector<std::string>& ops) {
        std::vector<std::string> actions;
        for (const auto& op : ops) {
          auto a = iam_action(op);
          if (std::find(actions.begin(), actions.end(), a) == actions.end()) actions.push_back(a);
        }
        std::string t;
        for (const auto& a : actions) t += (t.empty() ? "" : ", ") + a;
        return t;
      };
      std::string leftover_text;
      for (const auto& l : leftovers) leftover_text += "\n  " + l["command"].get<std::string>();
      if (!leftover_text.empty())
        leftover_text =
            "\nThe probe could not remove what it created; remove it with:" + leftover_text;

      std::vector<std::string> all_denied = denied_required;
      all_denied.insert(all_denied.end(), denied_optional.begin(), denied_optional.end());
      std::string grant = all_denied.empty() ? std::string()
                                             : " Grant them to the backup identity: " +
                                                   policy_statement(all_denied, conn.bucket);
      if (!denied_required.empty() || !mismatched.empty()) {
        std::string summary;
        if (!denied_required.empty())
          summary = "denied on " + conn.bucket + ": " + actions_text(denied_required);
        if (!mismatched.empty()) summary += (summary.empty() ? "" : "; ") + mismatched.front();
        std::string remediation =
            (denied_required.empty() ? std::string()
                                     : "Backups to s3://" + conn.bucket + "/" + prefix + " need " +
                                           actions_text(all_denied) + "." + grant) +
            (mismatched.empty() ? std::string()
                                : " The store returned other content than was written: check "
                                  "for a caching proxy or a misbehaving gateway in front of it.") +
            leftover_text;
        out.report(Status::fail, summary, remediation, details);
        return;
      }
      if (!denied_optional.empty() || !leftovers.empty()) {
        out.report(Status::warn,
                   denied_optional.empty()
                       ? "permissions fine, but the probe left objects behind"
                       : "denied on " + conn.bucket + ": " + actions_text(denied_optional) +
                             " (needed to find the region and to clean up stalled uploads)",
                   (denied_optional.empty() ? std::string() : grant.substr(1)) + leftover_text,
                   details);
        return;
      }
      size_t allowed = 0;
      for (const auto& pr : probes) allowed += pr.result == "allowed";
      out.report(Status::ok,
                 std::to_string(allowed) + " operations allowed on " + conn.bucket +
                     (write ? " (read and write probe, cleaned up)" : " (read-only probe)"),
                 "", details);
    });
  };
  return d;
}

}  // namespace backup_doctor::s3
