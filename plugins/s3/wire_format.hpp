// How S3 writes things on the wire: object keys percent-encoded as SigV4 signs them, and the
// dates of S3's XML and of HTTP headers.
#pragma once

#include <backup_doctor/system.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::s3 {

// Percent-encodes everything but the unreserved characters (A-Z a-z 0-9 - _ . ~), and '/' when
// `keep_slash` (object keys in a path). This is the form SigV4 signs, so the URL we send is
// already canonical and libcurl's signature matches the server's.
std::string uri_encode(std::string_view text, bool keep_slash);

// "2024-11-29T10:00:00.000Z" (S3 XML) to seconds since the epoch.
std::optional<int64_t> parse_iso8601(std::string_view text);
// "Fri, 29 Nov 2024 10:00:00 GMT" (HTTP headers) to seconds since the epoch.
std::optional<int64_t> parse_http_date(const std::string& text);

// Whole seconds since the epoch, the unit of the dates above.
inline int64_t now_epoch() {
  return static_cast<int64_t>(sdk::now_seconds());
}

}  // namespace backup_doctor::s3
