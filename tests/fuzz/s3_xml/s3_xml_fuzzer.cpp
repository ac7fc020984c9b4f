// What an S3-compatible endpoint answers: the XML of ListObjectsV2, ListMultipartUploads,
// ListParts, CreateMultipartUpload, STS GetCallerIdentity and error documents. The endpoint may
// be a self-hosted store, a proxy, or (over plain http) anyone on the path, so every byte is
// untrusted. The input is one response body: parsed by XmlDocument::parse, read as every shape
// the plugin reads, and as an error document through parse_error and diagnose().
//
// The listing loops (list_objects, list_uploads, list_parts) read their pages inline behind a
// Client that sends HTTP requests, so their page walks are repeated here line for line with the
// same helpers (parse_iso8601, strip_quotes, etag_part_count); parse_error and diagnose are the
// real functions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "client.hpp"
#include "connection.hpp"
#include "diagnosis.hpp"
#include "masking.hpp"
#include "s3_api.hpp"
#include "wire_format.hpp"
#include "xml.hpp"

namespace {

using namespace backup_doctor::s3;

uint64_t to_u64(const std::string& s) {  // as s3_api.cpp's
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

size_t walk(const XmlNode& root) {
  size_t seen = root.name().size();
  // list_objects
  for (const auto& c : root.children("Contents")) {
    ObjectInfo o;
    o.key = c.child_text("Key");
    o.last_modified = parse_iso8601(c.child_text("LastModified")).value_or(0);
    o.size = to_u64(c.child_text("Size"));
    o.etag = strip_quotes(c.child_text("ETag"));
    o.storage_class = c.child_text("StorageClass", "STANDARD");
    seen += o.key.size() + o.etag.size() + static_cast<size_t>(etag_part_count(o.etag) != 0);
  }
  seen +=
      (root.child_text("IsTruncated") == "true") + root.child_text("NextContinuationToken").size();
  // list_uploads
  for (const auto& u : root.children("Upload")) {
    UploadInfo info;
    info.key = u.child_text("Key");
    info.upload_id = u.child_text("UploadId");
    info.storage_class = u.child_text("StorageClass", "STANDARD");
    info.initiated = parse_iso8601(u.child_text("Initiated")).value_or(0);
    if (auto init = u.child("Initiator"))
      info.initiator = init->child_text("DisplayName", init->child_text("ID"));
    seen += info.key.size() + info.initiator.size();
  }
  seen += root.child_text("NextKeyMarker").size() + root.child_text("NextUploadIdMarker").size();
  // list_parts
  uint64_t bytes = 0;
  for (const auto& p : root.children("Part")) bytes += to_u64(p.child_text("Size"));
  seen += static_cast<size_t>(bytes & 1) + root.child_text("NextPartNumberMarker").size();
  // s3.permissions: the first key of a listing, the UploadId of CreateMultipartUpload.
  if (auto c = root.child("Contents")) seen += c->child_text("Key").size();
  seen += root.child_text("UploadId").size();
  // s3.auth: GetCallerIdentity.
  if (auto result = root.find("GetCallerIdentityResult"))
    seen += result->child_text("Arn").size() + result->child_text("Account").size() +
            result->child_text("UserId").size();
  return seen;
}

const Connection& connection() {
  static const Connection conn = [] {
    Connection c;
    ClientConfig config;
    config.endpoint = "https://s3.eu-west-1.amazonaws.com";
    config.region = "eu-west-1";
    config.credentials = Credentials{
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", "check parameters"};
    c.resolution.credentials = config.credentials;
    c.client = std::make_unique<Client>(config);
    c.bucket = "backups";
    c.endpoint_display = "AWS S3 (eu-west-1)";
    c.region = "eu-west-1";
    return c;
  }();
  return conn;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)connection();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  volatile size_t sink = 0;
  if (auto doc = XmlDocument::parse(body)) sink = sink + walk(doc->root());

  // A failed request: Client::perform fills the error from the body, diagnose() explains it.
  Response r;
  r.status = size % 2 ? 403 : 503;
  r.body = body;
  r.url = "https://backups.s3.eu-west-1.amazonaws.com/db/";
  r.error = parse_error(body);
  // What S3 sends next to such a document (the Date header decides the clock skew).
  if (auto it = r.error.fields.find("ServerTime"); it != r.error.fields.end())
    r.headers["date"] = it->second;
  if (auto it = r.error.fields.find("Region"); it != r.error.fields.end())
    r.headers["x-amz-bucket-region"] = it->second;
  const Connection& conn = connection();
  for (const char* operation : {"ListObjectsV2", "HeadObject"}) {
    RequestFailed failure(operation, conn.bucket, r.error.fields.count("Key") ? "db/x" : "", r);
    Finding f = diagnose(failure, conn, true);
    if (f.category.empty() || f.summary.empty()) std::abort();
    std::string text = scrub(f.summary + f.remediation, conn.secrets());
    sink = sink + text.size() +
           scrub_json(f.details, conn.secrets())
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
               .size();
  }
  (void)sink;
  return 0;
}
