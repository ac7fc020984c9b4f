// selinux.status: is SELinux on, in which mode, with which policy; and will the mode change at
// the next boot.
#include <backup_doctor/params.hpp>
#include "checks.hpp"
#include "selinuxfs.hpp"

namespace backup_doctor::selinux {

using nlohmann::json;
using sdk::string_param;

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "expect_mode": {"type": "string", "enum": ["any", "enforcing", "permissive"], "default": "any",
      "description": "The mode this host should run in; another mode warns. Default any (only reported)."},
    "selinuxfs_root": {"type": "string", "minLength": 1, "default": "/sys/fs/selinux",
      "description": "Where selinuxfs is mounted. Default /sys/fs/selinux; tests point it at a fake tree."},
    "config": {"type": "string", "minLength": 1, "default": "/etc/selinux/config",
      "description": "The SELinux configuration file (SELINUX= and SELINUXTYPE=). Default /etc/selinux/config."}
  }
})";

void run(const json& params, sdk::Context& ctx) {
  std::string root = string_param(params, "selinuxfs_root", kDefaultSelinuxfs);
  std::string config_path = string_param(params, "config", kDefaultConfig);
  std::string expect = string_param(params, "expect_mode", "any");
  if (expect != "any" && expect != "enforcing" && expect != "permissive")
    throw sdk::CheckError("expect_mode must be any, enforcing or permissive, not \"" + expect +
                          "\"");

  SelinuxState state = read_selinux_state(root);
  SelinuxConfig config = read_selinux_config(config_path);
  json details = {{"enabled", state.enabled},
                  {"selinuxfs", root},
                  {"config", config_path},
                  {"config_found", config.found},
                  {"config_mode", config.mode.empty() ? json(nullptr) : json(config.mode)},
                  {"policy", config.type.empty() ? json(nullptr) : json(config.type)}};
  ctx.metric("selinux_enabled", state.enabled ? 1 : 0, "");
  if (!state.enabled) {
    details["reason"] = state.reason;
    ctx.skip("SELinux is not enabled on this host", details);
    return;
  }
  if (state.enforce < 0)
    throw sdk::CheckError("cannot read the SELinux mode from " + root + "/enforce");
  std::string mode = state.enforce == 1 ? "enforcing" : "permissive";
  details["mode"] = mode;
  details["policy_version"] =
      state.policy_version >= 0 ? json(state.policy_version) : json(nullptr);
  details["deny_unknown"] = state.deny_unknown >= 0 ? json(state.deny_unknown == 1) : json(nullptr);
  details["mls"] = state.mls >= 0 ? json(state.mls == 1) : json(nullptr);
  ctx.metric("selinux_enforcing", state.enforce, "");
  if (state.policy_version >= 0) ctx.metric("selinux_policy_version", state.policy_version, "");

  std::string summary =
      "SELinux " + mode + ", policy " + (config.type.empty() ? "unknown" : config.type) +
      (state.policy_version >= 0 ? " (version " + std::to_string(state.policy_version) + ")" : "");
  std::vector<std::string> problems, fixes;
  if (expect != "any" && expect != mode) {
    problems.push_back("SELinux is " + mode + " but this host should be " + expect);
    fixes.push_back(expect == "enforcing"
                        ? "Check the denials a switch would turn into failures first (the "
                          "selinux.denials check, or `ausearch -m avc -ts boot`), fix them, then "
                          "run `setenforce 1` and set SELINUX=enforcing in " +
                              config_path + "."
                        : "Switch with `setenforce 0` and set SELINUX=permissive in " +
                              config_path + " if this host is meant to only log denials.");
  }
  if (config.found && !config.mode.empty() && config.mode != mode) {
    if (config.mode == "disabled") {
      problems.push_back("SELinux is " + mode + " now but " + config_path + " says disabled");
      fixes.push_back(
          "After the next reboot SELinux will be off and files created meanwhile will "
          "carry no label; decide which state is wanted and make " +
          config_path +
          " say so (turning it on later needs a full relabel: `touch /.autorelabel`).");
    } else {
      problems.push_back("SELinux is " + mode + " now but " + config_path + " says " + config.mode +
                         ": the mode changes at the next reboot");
      fixes.push_back(config.mode == "enforcing"
                          ? "Denials that are only logged today will block backups after the next "
                            "reboot: review them (selinux.denials, `ausearch -m avc -ts boot`) and "
                            "fix the labels or policy now, or set SELINUX=permissive in " +
                                config_path + " if permissive is intended."
                          : "Either run `setenforce 0` now or set SELINUX=enforcing in " +
                                config_path + " so the running and configured modes agree.");
    }
  } else if (!config.found) {
    details["config_missing"] = true;
  }
  if (problems.empty()) {
    ctx.ok(summary, details);
    return;
  }
  std::string s, r;
  for (const auto& p : problems) s += (s.empty() ? "" : "; ") + p;
  for (const auto& f : fixes) r += (r.empty() ? "" : "\n") + f;
  ctx.warn(s, r, details);
}

}  // namespace

sdk::CheckType status_check() {
  return {.type = "selinux.status",
          .summary = "SELinux mode and policy, and whether the mode changes at reboot",
          .doc =
              "Reads selinuxfs (through libselinux) for the current mode, the policy version and "
              "the deny_unknown and MLS flags, and the SELinux config file for the configured mode "
              "and policy name. Warns when the running mode differs from the configured one (the "
              "next reboot changes what backups may do) or from `expect_mode`. On a host without "
              "SELinux the result is skipped.",
          .params_schema = sdk::parse_schema(kSchema),
          .run = &run};
}

}  // namespace backup_doctor::selinux
