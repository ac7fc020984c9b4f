#include "job_args.hpp"

#include <backup_doctor/sdk.hpp>

#include <algorithm>
#include <iterator>
#include <string_view>

namespace backup_doctor::rsync {
namespace {

// Long options that take a value, which may come as the next argument ("--exclude PATTERN").
constexpr std::string_view kValueOptions[] = {
    "--rsh",
    "--rsync-path",
    "--exclude",
    "--include",
    "--filter",
    "--exclude-from",
    "--include-from",
    "--files-from",
    "--backup-dir",
    "--suffix",
    "--chmod",
    "--chown",
    "--usermap",
    "--groupmap",
    "--compare-dest",
    "--copy-dest",
    "--link-dest",
    "--temp-dir",
    "--partial-dir",
    "--max-delete",
    "--max-size",
    "--min-size",
    "--max-alloc",
    "--bwlimit",
    "--timeout",
    "--contimeout",
    "--port",
    "--sockopts",
    "--password-file",
    "--compress-choice",
    "--zc",
    "--compress-level",
    "--zl",
    "--skip-compress",
    "--checksum-choice",
    "--cc",
    "--block-size",
    "--modify-window",
    "--out-format",
    "--log-format",
    "--log-file",
    "--log-file-format",
    "--info",
    "--debug",
    "--iconv",
    "--remote-option",
    "--address",
    "--outbuf",
    "--write-batch",
    "--only-write-batch",
    "--read-batch",
    "--protocol",
    "--checksum-seed",
    "--stop-after",
    "--stop-at",
    "--early-input",
    "--copy-as",
};

// Dropped: they write files even in a dry run, or change the output we parse.
constexpr std::string_view kDropped[] = {
    "--quiet",   "--progress",        "--out-format",      "--log-format",  "--info",
    "--debug",   "--log-file",        "--log-file-format", "--write-batch", "--only-write-batch",
    "--dry-run", "--itemize-changes", "--stats",
};

constexpr std::string_view kRefused[] = {"--server", "--sender", "--daemon", "--read-batch"};

// Short options whose value is the rest of the cluster or the next argument.
constexpr std::string_view kShortWithValue = "BefTM@";
// Short options dropped from clusters: quiet and progress (-P) change the output; dry-run and
// itemize are added by the check anyway.
constexpr std::string_view kShortDropped = "qPni";
constexpr std::string_view kShortReported = "qP";

bool takes_value(std::string_view name) {
  return std::find(std::begin(kValueOptions), std::end(kValueOptions), name) !=
         std::end(kValueOptions);
}

}  // namespace

JobArgs filter_job_args(const std::vector<std::string>& in) {
  JobArgs out;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& a = in[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      size_t eq = a.find('=');
      std::string_view name = std::string_view(a).substr(0, eq);
      bool value_follows = eq == std::string::npos && takes_value(name) && i + 1 < in.size();
      if (std::find(std::begin(kRefused), std::end(kRefused), name) != std::end(kRefused))
        throw sdk::CheckError("the job option '" + std::string(name) +
                              "' cannot be used for a dry run of a job");
      if (name == "--mkpath") out.mkpath = true;
      if (name == "--relative") out.relative = true;
      if (std::find(std::begin(kDropped), std::end(kDropped), name) != std::end(kDropped)) {
        // The check adds these itself; only the others are worth reporting.
        bool ours = name == "--dry-run" || name == "--itemize-changes" || name == "--stats";
        if (!ours) out.ignored.push_back(value_follows ? a + " " + in[i + 1] : a);
        if (value_follows) ++i;
        continue;
      }
      out.args.push_back(a);
      if (value_follows) out.args.push_back(in[++i]);
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
      // A cluster of short options, "-avzq" or "-e" "ssh -p 2222" or "-essh".
      std::string kept = "-";
      std::string dropped;
      bool value_in_next = false;
      for (size_t k = 1; k < a.size(); ++k) {
        char c = a[k];
        if (kShortWithValue.find(c) != std::string_view::npos) {
          kept += a.substr(k);  // the option and its attached value
          value_in_next = k + 1 == a.size();
          break;
        }
        if (c == 'R') out.relative = true;
        if (kShortDropped.find(c) == std::string_view::npos)
          kept += c;
        else if (kShortReported.find(c) != std::string_view::npos)
          dropped += c;
      }
      if (!dropped.empty()) out.ignored.push_back("-" + dropped);
      if (kept.size() > 1) out.args.push_back(kept);
      if (value_in_next && i + 1 < in.size()) out.args.push_back(in[++i]);
      continue;
    }
    out.args.push_back(a);  // a bare word: a stray value; rsync will judge it
  }
  return out;
}

}  // namespace backup_doctor::rsync
