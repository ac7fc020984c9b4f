#include "s3_api.hpp"

#include "wire_format.hpp"
#include "xml.hpp"

namespace backup_doctor::s3 {

RequestFailed::RequestFailed(std::string operation, std::string bucket, std::string key,
                             Response response)
    : std::runtime_error(operation + " failed: " + response.describe()),
      operation_(std::move(operation)),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      response_(std::move(response)) {}

namespace {

void check_cancel(Client& client) {
  if (client.config().cancelled && client.config().cancelled()) throw Cancelled();
}

XmlDocument parse_or_throw(const std::string& operation, const std::string& bucket,
                           const Response& r) {
  auto doc = XmlDocument::parse(r.body);
  if (!doc) {
    Response copy = r;
    copy.error.code = "MalformedResponse";
    copy.error.message = "the answer is not XML";
    throw RequestFailed(operation, bucket, "", copy);
  }
  return *doc;
}

uint64_t to_u64(const std::string& s) {
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::string strip_quotes(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  // Some stores send the XML-escaped form.
  if (etag.rfind("&quot;", 0) == 0 && etag.size() >= 12) etag = etag.substr(6, etag.size() - 12);
  return etag;
}

int etag_part_count(const std::string& etag) {
  auto dash = etag.rfind('-');
  if (dash == std::string::npos) return 0;
  try {
    return std::stoi(etag.substr(dash + 1));
  } catch (...) {
    return 0;
  }
}

size_t list_objects(Client& client, const std::string& bucket, const std::string& prefix,
                    const std::function<bool(const ObjectInfo&)>& each, int page_size) {
  size_t seen = 0;
  std::string token;
  for (;;) {
    check_cancel(client);
    Request req;
    req.operation = "ListObjectsV2";
    req.bucket = bucket;
    req.query = {{"list-type", "2"}, {"max-keys", std::to_string(page_size)}};
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    Response r = client.send(req);
    if (!r.ok()) throw RequestFailed(req.operation, bucket, "", r);
    auto doc = parse_or_throw(req.operation, bucket, r);
    XmlNode root = doc.root();
    for (const auto& c : root.children("Contents")) {
      ObjectInfo o;
      o.key = c.child_text("Key");
      o.last_modified = parse_iso8601(c.child_text("LastModified")).value_or(0);
      o.size = to_u64(c.child_text("Size"));
      o.etag = strip_quotes(c.child_text("ETag"));
      o.storage_class = c.child_text("StorageClass", "STANDARD");
      ++seen;
      if (!each(o)) return seen;
    }
    bool truncated = root.child_text("IsTruncated") == "true";
    token = root.child_text("NextContinuationToken");
    if (!truncated || token.empty()) return seen;
  }
}

std::optional<ObjectInfo> newest_object(Client& client, const std::string& bucket,
                                        const std::string& prefix, const std::string& suffix,
                                        size_t* scanned, int page_size) {
  std::optional<ObjectInfo> newest;
  size_t n = list_objects(
      client, bucket, prefix,
      [&](const ObjectInfo& o) {
        if (!suffix.empty() &&
            (o.key.size() < suffix.size() ||
             o.key.compare(o.key.size() - suffix.size(), suffix.size(), suffix) != 0))
          return true;
        if (o.key.size() > 0 && o.key.back() == '/' && o.size == 0) return true;  // "folder" marker
        if (!newest || o.last_modified > newest->last_modified ||
            (o.last_modified == newest->last_modified && o.key > newest->key))
          newest = o;
        return true;
      },
      page_size);
  if (scanned) *scanned = n;
  return newest;
}

size_t list_uploads(Client& client, const std::string& bucket, const std::string& prefix,
                    const std::function<bool(const UploadInfo&)>& each) {
  size_t seen = 0;
  std::string key_marker, upload_marker;
  for (;;) {
    check_cancel(client);
    Request req;
    req.operation = "ListMultipartUploads";
    req.bucket = bucket;
    req.query = {{"uploads", ""}, {"max-uploads", "1000"}};
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!key_marker.empty()) req.query.emplace_back("key-marker", key_marker);
    if (!upload_marker.empty()) req.query.emplace_back("upload-id-marker", upload_marker);
    Response r = client.send(req);
    if (!r.ok()) throw RequestFailed(req.operation, bucket, "", r);
    auto doc = parse_or_throw(req.operation, bucket, r);
    XmlNode root = doc.root();
    for (const auto& u : root.children("Upload")) {
      UploadInfo info;
      info.key = u.child_text("Key");
      info.upload_id = u.child_text("UploadId");
      info.storage_class = u.child_text("StorageClass", "STANDARD");
      info.initiated = parse_iso8601(u.child_text("Initiated")).value_or(0);
      if (auto init = u.child("Initiator"))
        info.initiator = init->child_text("DisplayName", init->child_text("ID"));
      ++seen;
      if (!each(info)) return seen;
    }
    bool truncated = root.child_text("IsTruncated") == "true";
    key_marker = root.child_text("NextKeyMarker");
    upload_marker = root.child_text("NextUploadIdMarker");
    if (!truncated || (key_marker.empty() && upload_marker.empty())) return seen;
  }
}

PartsSummary list_parts(Client& client, const std::string& bucket, const std::string& key,
                        const std::string& upload_id, int max_pages) {
  PartsSummary s;
  std::string marker;
  for (int page = 0;; ++page) {
    if (page >= max_pages) {
      s.truncated = true;
      return s;
    }
    check_cancel(client);
    Request req;
    req.operation = "ListParts";
    req.bucket = bucket;
    req.key = key;
    req.query = {{"uploadId", upload_id}, {"max-parts", "1000"}};
    if (!marker.empty()) req.query.emplace_back("part-number-marker", marker);
    Response r = client.send(req);
    if (!r.ok()) throw RequestFailed(req.operation, bucket, key, r);
    auto doc = parse_or_throw(req.operation, bucket, r);
    XmlNode root = doc.root();
    for (const auto& p : root.children("Part")) {
      ++s.parts;
      s.bytes += to_u64(p.child_text("Size"));
    }
    bool truncated = root.child_text("IsTruncated") == "true";
    marker = root.child_text("NextPartNumberMarker");
    if (!truncated || marker.empty()) return s;
  }
}

HeadInfo head_object(Client& client, const std::string& bucket, const std::string& key,
                     std::optional<int> part_number) {
  Request req;
  req.operation = "HeadObject";
  req.method = "HEAD";
  req.bucket = bucket;
  req.key = key;
  if (part_number) req.query.emplace_back("partNumber", std::to_string(*part_number));
  Response r = client.send(req);
  if (!r.ok()) {
    // A HEAD error has no body, so "403" could be any credential or permission problem; one
    // ranged GET brings the error document that names it.
    if (r.transport_ok() && r.status != 404) {
      Request get = req;
      get.method = "GET";
      get.headers.emplace_back("Range", "bytes=0-0");
      Response g = client.send(get);
      if (!g.ok() && g.transport_ok()) r = g;
    }
    throw RequestFailed(req.operation, bucket, key, r);
  }
  HeadInfo h;
  h.size = to_u64(r.header("content-length"));
  h.etag = strip_quotes(r.header("etag"));
  h.last_modified = parse_http_date(r.header("last-modified")).value_or(0);
  h.storage_class = r.header("x-amz-storage-class");
  if (h.storage_class.empty()) h.storage_class = "STANDARD";
  h.sse = r.header("x-amz-server-side-encryption");
  h.sse_kms_key_id = r.header("x-amz-server-side-encryption-aws-kms-key-id");
  h.sse_customer_algorithm = r.header("x-amz-server-side-encryption-customer-algorithm");
  if (auto pc = r.header("x-amz-mp-parts-count"); !pc.empty()) {
    try {
      h.parts_count = std::stoi(pc);
    } catch (...) {
    }
  }
  return h;
}

}  // namespace backup_doctor::s3
