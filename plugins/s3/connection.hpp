// The parameters every s3 check shares (endpoint, addressing, region, credentials, timeouts,
// retries) and how they become a Client.
#pragma once

#include <backup_doctor/schema.hpp>
#include "client.hpp"
#include "credentials.hpp"

#include <backup_doctor/params.hpp>
#include <backup_doctor/sdk.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backup_doctor::s3 {

// JSON Schema "properties" of the connection parameters.
nlohmann::json connection_properties();
// The same, for a nested object describing a second location (s3.redundancy's secondary):
// bucket and prefix plus optional connection overrides.
nlohmann::json location_properties();
// Builds the schema text for add_check from the properties of a check.
nlohmann::json make_schema(const nlohmann::json& properties,
                           const std::vector<std::string>& required);

struct Connection {
  std::unique_ptr<Client> client;
  CredentialResolution resolution;
  std::string bucket;
  std::string endpoint_display;  // the endpoint as the operator gave it, or "AWS S3 (region)"
  std::string region;
  std::string profile_param;  // explicit profile, for the aws commands in remediation

  // "aws --endpoint-url http://... --profile p s3api" for remediation commands.
  std::string aws_cli(const std::string& service = "s3api") const;
  std::vector<std::string> secrets() const { return client->secrets(); }
};

// Reads the connection parameters from `params` (or from `overrides` first, falling back to
// `params`, for a secondary location). Throws CheckError when `require_credentials` and none
// are found anywhere, naming every place searched.
Connection connect(const nlohmann::json& params, sdk::Context& ctx, bool require_credentials = true,
                   const nlohmann::json& overrides = nlohmann::json::object());

using sdk::duration_param;

}  // namespace backup_doctor::s3
