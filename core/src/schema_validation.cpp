#include "schema_validation.hpp"

#include "schema_messages.hpp"
#include "suggest.hpp"

#include <algorithm>
#include <set>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace backup_doctor {

struct CompiledSchema::Impl {
  nlohmann::json source;
  valijson::Schema schema;
};

CompiledSchema::CompiledSchema(const nlohmann::json& schema) : impl_(std::make_unique<Impl>()) {
  impl_->source = schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter adapter(impl_->source);
  parser.populateSchema(adapter, impl_->schema);
}
CompiledSchema::~CompiledSchema() = default;
CompiledSchema::CompiledSchema(CompiledSchema&&) noexcept = default;

namespace {

// valijson names nodes "<root>", "[key]" and "[3]"; we want plain tokens.
std::vector<std::string> tokens_of(const std::vector<std::string>& context) {
  std::vector<std::string> out;
  for (const auto& c : context) {
    if (c == "<root>") continue;
    if (c.size() >= 2 && c.front() == '[' && c.back() == ']') {
      std::string inner = c.substr(1, c.size() - 2);
      if (inner.size() >= 2 && inner.front() == '"' && inner.back() == '"')
        inner = inner.substr(1, inner.size() - 2);
      out.push_back(inner);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Walks document and schema together and reports keys the schema forbids, with a suggestion.
// valijson says only that "an object contains a property that could not be validated".
void unknown_keys(const nlohmann::json& root, const nlohmann::json* schema,
                  const nlohmann::json& doc, std::vector<std::string>& path,
                  std::vector<SchemaProblem>& out) {
  schema = resolve_ref(root, schema);
  if (!schema || !schema->is_object()) return;
  if (doc.is_object()) {
    const auto* props = schema->contains("properties") ? &(*schema)["properties"] : nullptr;
    const auto* extra =
        schema->contains("additionalProperties") ? &(*schema)["additionalProperties"] : nullptr;
    std::vector<std::string> known;
    if (props)
      for (const auto& [k, _] : props->items()) known.push_back(k);
    for (const auto& [key, value] : doc.items()) {
      path.push_back(key);
      if (props && props->contains(key)) {
        unknown_keys(root, &(*props)[key], value, path, out);
      } else if (extra && extra->is_boolean() && !extra->get<bool>()) {
        std::string msg = "unknown key '" + key + "'" + did_you_mean(key, known);
        if (!known.empty()) {
          std::string list;
          for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
          msg += "; allowed here: " + list;
        }
        out.push_back({path, msg, {}});
      } else if (extra && extra->is_object()) {
        unknown_keys(root, extra, value, path, out);
      }
      path.pop_back();
    }
  } else if (doc.is_array() && schema->contains("items") && (*schema)["items"].is_object()) {
    for (size_t i = 0; i < doc.size(); ++i) {
      path.push_back(std::to_string(i));
      unknown_keys(root, &(*schema)["items"], doc[i], path, out);
      path.pop_back();
    }
  }
}

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::string problem_text(const SchemaProblem& problem, const std::string& field) {
  if (problem.value.empty())
    return field.empty() ? problem.message : field + ": " + problem.message;
  return (field.empty() ? "" : field + " ") + problem.value + " " + problem.message;
}

std::vector<SchemaProblem> CompiledSchema::validate(const nlohmann::json& document) const {
  std::vector<SchemaProblem> problems;
  std::vector<std::string> path;
  unknown_keys(impl_->source, &impl_->source, document, path, problems);

  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  if (!validator.validate(impl_->schema, target, &results)) {
    std::vector<SchemaProblem> raw;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      // The generic additionalProperties complaint is covered by unknown_keys above.
      if (e.description.find("could not be validated using 'properties'") != std::string::npos ||
          e.description.find("Failed to validate against schema associated with property") !=
              std::string::npos ||
          e.description.find("Failed to validate item #") != std::string::npos)
        continue;
      auto path = tokens_of(e.context);
      auto explained = explain_schema_problem(impl_->source, document, path, e.description);
      raw.push_back({path, explained.complaint, explained.value});
    }
    // Keep the most specific message per location: drop one whose path is a prefix of another.
    for (size_t i = 0; i < raw.size(); ++i) {
      bool shadowed = false;
      for (size_t j = 0; j < raw.size() && !shadowed; ++j)
        shadowed = j != i && raw[j].path.size() > raw[i].path.size() &&
                   is_prefix(raw[i].path, raw[j].path);
      for (const auto& p : problems) shadowed = shadowed || is_prefix(raw[i].path, p.path);
      if (!shadowed) problems.push_back(raw[i]);
    }
  }
  // One message per location.
  std::vector<SchemaProblem> unique;
  std::set<std::vector<std::string>> seen;
  for (auto& p : problems)
    if (seen.insert(p.path).second) unique.push_back(std::move(p));
  return unique;
}

}  // namespace backup_doctor
