// The checklist file: its model, and loading it with every structural problem reported at
// once (JSON syntax, unknown keys, duplicate ids, unknown or cyclic needs and after, bad
// durations).
// Checking parameters against the plugins' schemas happens when a plan is made (plan.hpp).
#pragma once

#include "json_text.hpp"
#include "status.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace backup_doctor {

inline constexpr std::chrono::milliseconds kDefaultCheckTimeout{60'000};

struct CheckSpec {
  size_t index = 0;  // position in "checks"
  std::string id;
  std::string use;  // check type
  std::string description;
  nlohmann::json with = nlohmann::json::object();  // as written (not interpolated)
  Severity severity = Severity::critical;
  std::vector<std::string> needs;
  // Not gating: when one of these is not ok, this check's problem is probably its consequence
  // (the text report shows it under that one).
  std::vector<std::string> after;
  std::vector<std::string> tags;
  // Its backup set: "group", else its first tag, else kDefaultGroup (result.hpp).
  std::string group;
  std::chrono::milliseconds timeout = kDefaultCheckTimeout;
  bool enabled = true;
};

struct Profile {
  std::string description;
  nlohmann::json vars = nlohmann::json::object();
  std::vector<std::string> tags;
  std::vector<std::string> skip_tags;
};

struct Checklist {
  std::filesystem::path file;
  std::string name;
  std::string description;
  nlohmann::json vars = nlohmann::json::object();
  std::map<std::string, Profile> profiles;
  std::vector<CheckSpec> checks;
  SourceMap source;  // where each value of the file is, for messages about it
  std::unordered_map<std::string, size_t> index;  // id -> position in checks (the first)

  const CheckSpec* find(const std::string& id) const;
};

// "FILE:LINE:COL: check 'ID': FIELD: message" (the parts that apply).
std::string located(const std::filesystem::path& file, const std::string& check_id,
                    const std::string& field, const std::string& message,
                    const std::string& line_col = {});

struct ChecklistLoad {
  std::optional<Checklist> checklist;
  std::vector<std::string> errors;  // each names the file, the check and the field
};

// `file` "-" reads standard input; the checklist is then named kStdinName in messages, and its
// profiles are only those it defines (there is no directory to find profiles/NAME.json in).
inline constexpr const char* kStdinName = "<stdin>";
ChecklistLoad load_checklist(const std::filesystem::path& file);
ChecklistLoad load_checklist_text(const std::string& text, const std::filesystem::path& origin);

// Reads a profile file (profiles/NAME.json next to the checklist): same shape as an entry of
// "profiles".
std::optional<Profile> load_profile_file(const std::filesystem::path& file,
                                         std::vector<std::string>& errors);

}  // namespace backup_doctor
