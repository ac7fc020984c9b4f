// The S3 operations the checks need, on top of Client: listings (paginated), HEAD, and the
// parsed answers. A failed request throws RequestFailed carrying the whole Response, so each
// check turns it into a specific finding (see diagnosis.hpp).
#pragma once

#include "client.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace backup_doctor::s3 {

class RequestFailed : public std::runtime_error {
 public:
  RequestFailed(std::string operation, std::string bucket, std::string key, Response response);
  const std::string& operation() const { return operation_; }
  const std::string& bucket() const { return bucket_; }
  const std::string& key() const { return key_; }
  const Response& response() const { return response_; }

 private:
  std::string operation_, bucket_, key_;
  Response response_;
};

// Thrown by the listing loops when the check was cancelled.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

struct ObjectInfo {
  std::string key;
  int64_t last_modified = 0;
  uint64_t size = 0;
  std::string etag;  // without quotes
  std::string storage_class;
};

struct UploadInfo {
  std::string key, upload_id, storage_class, initiator;
  int64_t initiated = 0;
};

struct PartsSummary {
  int parts = 0;
  uint64_t bytes = 0;
  bool truncated = false;  // stopped after max_pages pages
};

struct HeadInfo {
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t last_modified = 0;
  std::string storage_class;  // "STANDARD" when the header is absent, as S3 documents
  std::string sse;            // x-amz-server-side-encryption, "" when none
  std::string sse_kms_key_id;
  std::string sse_customer_algorithm;
  int parts_count = 0;  // x-amz-mp-parts-count, when the server sent it
};

std::string strip_quotes(std::string etag);
// Number of parts in a multipart ETag ("...-3" -> 3), 0 for a plain MD5 ETag.
int etag_part_count(const std::string& etag);

// ListObjectsV2, every page. `each` returns false to stop early. Returns objects seen.
size_t list_objects(Client& client, const std::string& bucket, const std::string& prefix,
                    const std::function<bool(const ObjectInfo&)>& each, int page_size = 1000);

// The object with the latest LastModified under `prefix` whose key ends with `suffix`.
std::optional<ObjectInfo> newest_object(Client& client, const std::string& bucket,
                                        const std::string& prefix, const std::string& suffix,
                                        size_t* scanned = nullptr, int page_size = 1000);

// ListMultipartUploads, every page.
size_t list_uploads(Client& client, const std::string& bucket, const std::string& prefix,
                    const std::function<bool(const UploadInfo&)>& each);

// ListParts of one upload (at most `max_pages` pages of 1000 parts).
PartsSummary list_parts(Client& client, const std::string& bucket, const std::string& key,
                        const std::string& upload_id, int max_pages = 10);

// HeadObject; with `part_number`, the size returned is that part's.
HeadInfo head_object(Client& client, const std::string& bucket, const std::string& key,
                     std::optional<int> part_number = std::nullopt);

}  // namespace backup_doctor::s3
