// Example of a platform team's own check: ACME's backup job writes a marker file when it ends
// ("status=success finished=<unix time>"). acme.job_marker reads it and says whether the last
// run succeeded and is recent enough.
#include <backup_doctor/params.hpp>  // required_string, duration_param
#include <backup_doctor/schema.hpp>  // parse_schema and its bd:duration block
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/support/safe_open.hpp>  // open_untrusted, read_up_to
#include <backup_doctor/text.hpp>               // iso_time

#include <charconv>
#include <chrono>
#include <sstream>

namespace {

using backup_doctor::sdk::Context;
using nlohmann::json;

namespace sdk = backup_doctor::sdk;
namespace support = backup_doctor::support;

// What the marker says. The backup account writes it, so it is read as untrusted data: through
// the SDK's safe-open primitive (no link followed that the account could have planted, no FIFO
// that would hang us, at most 64 KiB), and a malformed field is an error, never a pass.
struct Marker {
  std::string status;
  long long finished = 0;
};

Marker parse_marker(const std::string& text, const std::string& path) {
  Marker m;
  std::istringstream fields(text);
  for (std::string field; fields >> field;) {
    if (field.rfind("status=", 0) == 0) m.status = field.substr(7);
    if (field.rfind("finished=", 0) == 0) {
      std::string value = field.substr(9);
      auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), m.finished);
      if (err != std::errc() || end != value.data() + value.size())
        throw sdk::CheckError(
            "the job marker " + path + " has finished=" + value + ", not a unix time",
            "Make the job write finished=$(date +%s) when it ends.");
    }
  }
  return m;
}

void check_marker(const json& params, Context& ctx) {
  const std::string path = sdk::required_string(params, "path");
  const auto max_age = sdk::duration_param(params, "max_age", "25h");

  support::SafeOpened opened = support::open_untrusted(path);
  if (opened.refusal == support::Refusal::missing) {
    ctx.fail("no job marker at " + path,
             "The backup job never finished, or writes its marker elsewhere: check the job's "
             "schedule and its log, then point \"path\" at the marker it writes.",
             {{"path", path}});
    return;
  }
  if (!opened) throw sdk::CheckError(opened.message, "Point \"path\" at the marker file itself.");
  Marker marker = parse_marker(support::read_up_to(opened.fd.get(), 64 * 1024).data, path);

  auto now = std::chrono::system_clock::now();
  auto age = now - std::chrono::system_clock::from_time_t(marker.finished);
  ctx.metric("acme_job_finished_timestamp", static_cast<double>(marker.finished), "seconds");
  json details{{"path", path}, {"status", marker.status}, {"finished", marker.finished}};
  if (marker.status != "success") {
    ctx.fail("the last ACME backup job ended with status '" + marker.status + "'",
             "Open the job's log for the run that finished at " + sdk::iso_time(marker.finished) +
                 " and fix what it reports; the next run must write status=success.",
             details);
  } else if (age > max_age) {
    ctx.warn("the last successful ACME backup job finished " +
                 sdk::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(age)) +
                 " ago",
             "The job has not succeeded within " + sdk::format_duration(max_age) +
                 ": check that its timer or cron entry is still enabled.",
             details);
  } else {
    ctx.ok("the last ACME backup job succeeded", details);
  }
}

// The check type as a value: what `backup-doctor describe acme.job_marker` shows, and the
// function that runs it.
sdk::CheckType job_marker_check() {
  return {
      .type = "acme.job_marker",
      .summary = "The ACME backup job's marker file says it succeeded recently",
      .doc = "Reads the marker file the job writes on exit (`status=... finished=<unix time>`).",
      .params_schema = sdk::parse_schema(R"({
            "type": "object", "additionalProperties": false, "required": ["path"],
            "properties": {
              "path": {"type": "string", "minLength": 1, "description": "Marker file written by the job"},
              "max_age": {"$ref": "bd:duration", "default": "25h",
                          "description": "Oldest acceptable successful run"}}})"),
      .run = check_marker};
}

class AcmePlugin : public sdk::Plugin {
 public:
  AcmePlugin() : Plugin("acme", "1.0.0", "ACME's in-house backup job checks") {
    add(job_marker_check());
  }
};

}  // namespace

BACKUP_DOCTOR_PLUGIN(AcmePlugin)
