// The audit log (/var/log/audit/audit.log and its rotations, or `ausearch` output) that
// selinux.denials reads: any local user can put text into it (USER_AVC messages from an object
// manager, comm= and exe= of their own programs, path names they create). The input is a log,
// fed line by line to parse_audit_line with and without lazy fields, as the check reads it;
// the fields it then looks at go through decode_hex, parse_context and the policy hints.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "audit_log.hpp"
#include "denial_hints.hpp"
#include "selinuxfs.hpp"

namespace {

using namespace backup_doctor::selinux;

// "system_u:system_r:postgresql_t:s0" -> "postgresql_t", as the denials check does.
std::string type_of(const std::string& context) {
  SecurityContext c = parse_context(context);
  return c.valid ? c.type : context;
}

size_t one_line(std::string_view line, bool lazy) {
  AuditRecord r;
  std::string why;
  ParseOptions options;
  options.lazy_fields = lazy;
  LineKind kind = parse_audit_line(line, r, &why, options);
  if (kind == LineKind::malformed) {
    if (why.empty()) std::abort();
    return why.size();
  }
  if (kind != LineKind::record) return 0;
  size_t seen = r.event_key().size();
  if (r.type == "AVC" || r.type == "USER_AVC") {
    if (r.avc_result == "denied" || r.avc_result == "granted") {
      if (r.permissions.empty()) std::abort();
      const std::string* s = r.field("scontext");
      const std::string* t = r.field("tcontext");
      const std::string* c = r.field("tclass");
      if (!s || !t || !c) std::abort();
      std::set<std::string> perms(r.permissions.begin(), r.permissions.end());
      const std::string* path = r.field("path");
      if (!path) path = r.field("name");
      seen += policy_hint(type_of(*s), type_of(*t), *c, perms, path ? *path : "").size();
    }
  } else {
    parse_fields(r);
    if (!r.body.empty()) std::abort();
  }
  for (const auto& [key, value] : r.fields)
    if (auto decoded = decode_hex(value)) seen += decoded->size();
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  volatile size_t sink = 0;
  (void)decode_hex(text.substr(0, 512));
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    sink = sink + one_line(line, false) + one_line(line, true);
  }
  (void)sink;
  return 0;
}
