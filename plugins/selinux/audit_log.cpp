#include "audit_log.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace backup_doctor::selinux {

namespace {

// Fields whose value the kernel hex-encodes when it holds a space, a quote or a control char.
bool untrusted_field(const std::string& key) {
  return key == "comm" || key == "exe" || key == "name" || key == "path" || key == "cwd" ||
         key == "cmd" || key == "cmdline" || key == "proctitle" || key == "key" || key == "new" ||
         key == "old";
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Reads key=value pairs from `body`: values are "quoted", 'quoted' or bare words.
void parse_fields(std::string_view body, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && is_space(body[i])) ++i;
    size_t key_start = i;
    while (i < body.size() && !is_space(body[i]) && body[i] != '=') ++i;
    if (i >= body.size() || body[i] != '=') {
      // A bare word ("avc:", "for"): skip it.
      while (i < body.size() && !is_space(body[i])) ++i;
      continue;
    }
    std::string key(body.substr(key_start, i - key_start));
    ++i;  // '='
    std::string value;
    bool quoted = false;
    if (i < body.size() && (body[i] == '"' || body[i] == '\'')) {
      char q = body[i++];
      size_t end = body.find(q, i);
      if (end == std::string_view::npos) end = body.size();
      value = std::string(body.substr(i, end - i));
      i = end < body.size() ? end + 1 : end;
      quoted = true;
    } else {
      size_t start = i;
      while (i < body.size() && !is_space(body[i])) ++i;
      value = std::string(body.substr(start, i - start));
    }
    if (!quoted && untrusted_field(key) && value != "(null)" && value != "?") {
      if (auto decoded = decode_hex(value)) value = *decoded;
    }
    if (!key.empty() && !out.count(key)) out.emplace(std::move(key), std::move(value));
  }
}

// "avc:  denied  { read write } for  pid=..." -> result, permissions, and the fields.
bool parse_avc_body(std::string_view body, AuditRecord& r, std::string* error) {
  auto avc = body.find("avc:");
  if (avc == std::string_view::npos) {
    if (error) *error = "AVC record without \"avc:\"";
    return false;
  }
  size_t i = avc + 4;
  while (i < body.size() && is_space(body[i])) ++i;
  size_t start = i;
  while (i < body.size() && !is_space(body[i])) ++i;
  r.avc_result = std::string(body.substr(start, i - start));
  if (r.avc_result == "received") return true;  // policyload/setenforce notice: no permission
  if (r.avc_result != "denied" && r.avc_result != "granted") {
    if (error) *error = "AVC record without denied/granted";
    return false;
  }
  auto open = body.find('{', i);
  auto close = open == std::string_view::npos ? open : body.find('}', open);
  if (open == std::string_view::npos || close == std::string_view::npos) {
    if (error) *error = "AVC record without { permissions }";
    return false;
  }
  std::string_view perms = body.substr(open + 1, close - open - 1);
  size_t p = 0;
  while (p < perms.size()) {
    while (p < perms.size() && is_space(perms[p])) ++p;
    size_t s = p;
    while (p < perms.size() && !is_space(perms[p])) ++p;
    if (p > s) r.permissions.emplace_back(perms.substr(s, p - s));
  }
  if (r.permissions.empty()) {
    if (error) *error = "AVC record with an empty permission set";
    return false;
  }
  parse_fields(body.substr(close + 1), r.fields);
  for (const char* required : {"scontext", "tcontext", "tclass"}) {
    if (!r.fields.count(required) || r.fields[required].empty()) {
      if (error) *error = std::string("AVC record without ") + required;
      return false;
    }
  }
  return true;
}

}  // namespace

std::string AuditRecord::event_key() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f:", timestamp);
  return buf + serial;
}

const std::string* AuditRecord::field(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::optional<std::string> decode_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + 2, v, 16);
    if (ec != std::errc() || p != text.data() + i + 2) return std::nullopt;
    // Uppercase hex only: auditd never writes lowercase, and this keeps words like "bad" as is.
    if (std::islower(static_cast<unsigned char>(text[i])) ||
        std::islower(static_cast<unsigned char>(text[i + 1])))
      return std::nullopt;
    out += static_cast<char>(v == 0 ? ' ' : v);  // proctitle separates argv with NULs
  }
  return out;
}

void parse_fields(AuditRecord& record) {
  if (record.body.empty()) return;
  parse_fields(record.body, record.fields);
  record.body.clear();
}

LineKind parse_audit_line(std::string_view line, AuditRecord& out, std::string* error,
                          const ParseOptions& options) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  // Enriched format (log_format=ENRICHED): translated fields follow a 0x1d separator.
  if (auto gs = line.find('\x1d'); gs != std::string_view::npos) line = line.substr(0, gs);
  size_t first = 0;
  while (first < line.size() && is_space(line[first])) ++first;
  line = line.substr(first);
  if (line.empty() || line.rfind("----", 0) == 0 || line.rfind("time->", 0) == 0)
    return LineKind::ignorable;
  // "node=host1 type=AVC ..." when auditd adds the node name.
  if (line.rfind("node=", 0) == 0) {
    auto sp = line.find(' ');
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  }
  if (line.rfind("type=", 0) != 0) {
    if (error) *error = "does not start with type=";
    return LineKind::malformed;
  }
  auto sp = line.find(' ');
  out = AuditRecord{};
  out.type =
      std::string(line.substr(5, sp == std::string_view::npos ? std::string_view::npos : sp - 5));
  if (out.type.empty() || sp == std::string_view::npos) {
    if (error) *error = "record without a body";
    return LineKind::malformed;
  }
  auto msg = line.find("msg=audit(", sp);
  auto close = msg == std::string_view::npos ? msg : line.find("):", msg);
  if (msg == std::string_view::npos || close == std::string_view::npos) {
    if (error) *error = "no msg=audit(<time>:<serial>): stamp";
    return LineKind::malformed;
  }
  std::string_view stamp = line.substr(msg + 10, close - msg - 10);
  auto colon = stamp.find(':');
  if (colon == std::string_view::npos) {
    if (error) *error = "audit stamp without serial";
    return LineKind::malformed;
  }
  std::string ts(stamp.substr(0, colon));
  char* end = nullptr;
  out.timestamp = std::strtod(ts.c_str(), &end);
  if (ts.empty() || end != ts.c_str() + ts.size() || !(out.timestamp > 0)) {
    if (error) *error = "bad audit timestamp \"" + ts + "\"";
    return LineKind::malformed;
  }
  out.serial = std::string(stamp.substr(colon + 1));
  if (out.serial.empty() || out.serial.find_first_not_of("0123456789") != std::string::npos) {
    if (error) *error = "bad audit serial \"" + out.serial + "\"";
    return LineKind::malformed;
  }
  std::string_view body = line.substr(close + 2);

  if (out.type == "AVC") {
    return parse_avc_body(body, out, error) ? LineKind::record : LineKind::malformed;
  }
  if (out.type == "USER_AVC") {
    // The userspace object manager's message sits in msg='...'.
    parse_fields(body, out.fields);
    auto it = out.fields.find("msg");
    std::string inner = it == out.fields.end() ? std::string() : it->second;
    std::map<std::string, std::string> outer = std::move(out.fields);
    out.fields.clear();
    if (!parse_avc_body(inner, out, error)) return LineKind::malformed;
    for (auto& [k, v] : outer)
      if (k != "msg") out.fields.emplace(k, v);  // exe, pid...: the inner fields win
    return LineKind::record;
  }
  if (options.lazy_fields)
    out.body = std::string(body);
  else
    parse_fields(body, out.fields);
  return LineKind::record;
}

}  // namespace backup_doctor::selinux
