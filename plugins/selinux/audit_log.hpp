// Parsing Linux audit log records (auditd's raw and enriched formats, and `ausearch` output),
// with what the denials check needs from AVC, USER_AVC, SYSCALL, PATH and CWD records.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor::selinux {

struct AuditRecord {
  std::string type;      // "AVC", "USER_AVC", "SYSCALL", "PATH", ...
  double timestamp = 0;  // seconds since the epoch
  std::string serial;    // event serial number: records of one event share timestamp + serial
  std::map<std::string, std::string> fields;  // values unquoted; hex-encoded values decoded

  // AVC and USER_AVC only:
  std::string avc_result;                // "denied" or "granted"
  std::vector<std::string> permissions;  // { read write } -> read, write

  // With ParseOptions::lazy_fields, the unparsed key=value text of a record other than
  // AVC/USER_AVC; parse_fields() fills `fields` from it when the record turns out to matter.
  std::string body;

  std::string event_key() const;  // "<timestamp>:<serial>"
  const std::string* field(const std::string& key) const;
};

enum class LineKind {
  record,     // parsed into the record
  ignorable,  // blank line, ausearch separator ("----", "time->...")
  malformed,  // not an audit record; `error` says why
};

struct ParseOptions {
  // Leave the fields of non-AVC records unparsed: most lines of a busy audit log (USER_*,
  // CRED_*, PROCTITLE...) are never looked at. The body is kept (for parse_fields) only for
  // the records that complete an AVC's event: SYSCALL, PATH and CWD.
  bool lazy_fields = false;
};

LineKind parse_audit_line(std::string_view line, AuditRecord& out, std::string* error,
                          const ParseOptions& options = {});

// Parses `record.body` into `record.fields` (after a lazy parse_audit_line).
void parse_fields(AuditRecord& record);

// Decodes the hex form auditd uses for values with spaces or odd bytes (comm=2F7573722F...).
// Nothing when `text` is not even-length hex.
std::optional<std::string> decode_hex(std::string_view text);

}  // namespace backup_doctor::selinux
