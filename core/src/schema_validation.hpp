// JSON Schema validation (valijson) with messages that name the field and what was expected,
// and "unknown key" errors that suggest the nearest known key.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backup_doctor {

struct SchemaProblem {
  std::vector<std::string> path;  // tokens from the validated document's root
  std::string message;            // what is wrong and what was expected
  std::string value;              // the offending value as written, when the problem is its value
};

// "with.max_age \"5 parsecs\" is not a duration (examples: ...)", or "FIELD: message" when the
// problem is not a value's (an unknown or missing key); `field` may be empty.
std::string problem_text(const SchemaProblem& problem, const std::string& field);

class CompiledSchema {
 public:
  explicit CompiledSchema(const nlohmann::json& schema);
  ~CompiledSchema();
  CompiledSchema(CompiledSchema&&) noexcept;

  // Problems of `document`, most specific first, one per location.
  std::vector<SchemaProblem> validate(const nlohmann::json& document) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backup_doctor
