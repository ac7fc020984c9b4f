// Small helpers shared by the s3 checks: URI encoding as SigV4 wants it, S3 and HTTP dates,
// sizes written as "8MiB", secret scrubbing (shell quoting and human sizes come from the SDK).
#pragma once

#include <backup_doctor/schema.hpp>
#include <backup_doctor/text.hpp>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::s3 {

// Percent-encodes everything but the unreserved characters (A-Z a-z 0-9 - _ . ~), and '/' when
// `keep_slash` (object keys in a path). This is the form SigV4 signs, so the URL we send is
// already canonical and libcurl's signature matches the server's.
std::string uri_encode(std::string_view text, bool keep_slash);

// "2024-11-29T10:00:00.000Z" (S3 XML) to seconds since the epoch.
std::optional<int64_t> parse_iso8601(std::string_view text);
// "Fri, 29 Nov 2024 10:00:00 GMT" (HTTP headers) to seconds since the epoch.
std::optional<int64_t> parse_http_date(const std::string& text);
int64_t now_epoch();

// From the SDK: "8 MiB", "1.2 GiB", "512 B"; "2024-11-29T10:00:00Z"; quoting for a POSIX shell.
using sdk::human_size;
using sdk::iso_time;
using sdk::shell_quote;

// The secrets worth masking: credentials shorter than 4 characters are no real keys, and masking
// them would mangle ordinary words.
std::vector<std::string> maskable(const std::vector<std::string>& secrets);

// Removes every occurrence of each secret from `text` (secrets shorter than 4 characters are
// ignored: they would mangle ordinary words and are not real keys).
std::string scrub(std::string text, const std::vector<std::string>& secrets);
// The same for every string inside a JSON value.
nlohmann::json scrub_json(const nlohmann::json& value, const std::vector<std::string>& secrets);

// Masks an access key id the way `aws configure list` does: only the last 4 characters.
std::string mask_key_id(std::string_view key_id);

}  // namespace backup_doctor::s3
