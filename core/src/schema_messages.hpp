// Schema problems in words a person acts on: instead of the validator's "Failed to match regex
// specified by 'pattern' constraint", what the value is and what was expected, with examples
// for durations and sizes and the allowed values for enums.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backup_doctor {

struct SchemaComplaint {
  std::string value;      // the offending value as written (shortened), empty for a missing key
  std::string complaint;  // "is not a duration (examples: 90s, 25h, 7d)"
};

// Follows a local "$ref" ("#/definitions/x") from `node` within `root`; null if it dangles.
const nlohmann::json* resolve_ref(const nlohmann::json& root, const nlohmann::json* node);

// The value at `path` (tokens as in SchemaProblem) inside `document`; null when there is none.
const nlohmann::json* value_at(const nlohmann::json& document,
                               const std::vector<std::string>& path);

// Rewrites one validator message about the value at `path` of `document`, using the schema node
// that applies there (resolved from `schema`).
SchemaComplaint explain_schema_problem(const nlohmann::json& schema, const nlohmann::json& document,
                                       const std::vector<std::string>& path,
                                       const std::string& validator_message);

}  // namespace backup_doctor
