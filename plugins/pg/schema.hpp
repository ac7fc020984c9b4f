// Building blocks for the pg checks' JSON Schemas (draft-07), so that every check describes the
// same connection parameters the same way (durations and sizes: the SDK's schema.hpp).
#pragma once

#include <backup_doctor/schema.hpp>

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>

namespace backup_doctor::pg::schema {

using nlohmann::json;

json string_prop(const std::string& description);
json string_prop(const std::string& description, const std::string& default_value);
json integer_prop(const std::string& description, long long default_value, long long minimum);
json number_prop(const std::string& description, double default_value, double minimum,
                 double maximum);
json boolean_prop(const std::string& description, bool default_value);
json string_list_prop(const std::string& description);
json max_items_prop();

// The libpq connection parameters every check accepts (host, port, dbname, user, password,
// sslmode, connect_timeout, service, passfile, ssl files, application_name).
json connection_properties();

// {"type":"object","additionalProperties":false,"properties":..., "required":...}
json object(json properties, std::initializer_list<std::string> required = {});

// `base` with the properties of `extra` added.
json merge(json base, const json& extra);

}  // namespace backup_doctor::pg::schema
