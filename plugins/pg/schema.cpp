#include "schema.hpp"

#include <backup_doctor/schema.hpp>

#include <backup_doctor/duration.hpp>

namespace backup_doctor::pg::schema {

json string_prop(const std::string& description) {
  return {{"type", "string"}, {"description", description}};
}
json string_prop(const std::string& description, const std::string& default_value) {
  return {{"type", "string"}, {"description", description}, {"default", default_value}};
}
json integer_prop(const std::string& description, long long default_value, long long minimum) {
  return {{"type", "integer"},
          {"description", description},
          {"default", default_value},
          {"minimum", minimum}};
}
json number_prop(const std::string& description, double default_value, double minimum,
                 double maximum) {
  return {{"type", "number"},
          {"description", description},
          {"default", default_value},
          {"minimum", minimum},
          {"maximum", maximum}};
}
json boolean_prop(const std::string& description, bool default_value) {
  return {{"type", "boolean"}, {"description", description}, {"default", default_value}};
}
json string_list_prop(const std::string& description) {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"minLength", 1}}},
          {"description", description}};
}
json max_items_prop() {
  return integer_prop(
      "How many items each list in the details (and the remediation) shows at most; the total "
      "count is always given. Default 20.",
      20, 1);
}

json connection_properties() {
  json port = {
      {"type", {"integer", "string"}},
      {"pattern", "^[0-9]+$"},
      {"minimum", 1},
      {"maximum", 65535},
      {"description", "Server port (libpq `port`). Default: libpq's default (PGPORT, else 5432)."}};
  json sslmode = {
      {"type", "string"},
      {"enum", {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}},
      {"description", "libpq `sslmode`. Default: libpq's default (PGSSLMODE, else prefer)."}};
  return {
      {"host", string_prop("Server host name, IP address, or unix socket directory (libpq "
                           "`host`). Default: libpq's default (PGHOST, else the local socket).")},
      {"port", port},
      {"dbname", string_prop("Database name (libpq `dbname`). Default: libpq's default "
                             "(PGDATABASE, else the user name).")},
      {"user", string_prop("Role to connect as (libpq `user`). Default: libpq's default (PGUSER, "
                           "else the operating-system user).")},
      {"password",
       string_prop("Password. Pass it as a secret ({\"secret\":{\"env\":\"DB_PASSWORD\"}}); it "
                   "never appears in any output. Default: none, so libpq uses PGPASSWORD or the "
                   "password file.")},
      {"sslmode", sslmode},
      {"sslrootcert", string_prop("CA certificate file for sslmode verify-ca/verify-full "
                                  "(libpq `sslrootcert`). Default: libpq's default.")},
      {"sslcert", string_prop("Client certificate file (libpq `sslcert`). Default: libpq's "
                              "default.")},
      {"sslkey", string_prop("Client key file (libpq `sslkey`). Default: libpq's default.")},
      {"service", string_prop("Service name in pg_service.conf (libpq `service`). Default: none.")},
      {"passfile", string_prop("Password file (libpq `passfile`). Default: PGPASSFILE, else "
                               "~/.pgpass.")},
      {"application_name",
       string_prop("application_name shown in pg_stat_activity. Default \"backup-doctor\".",
                   "backup-doctor")},
      {"connect_timeout",
       sdk::duration_schema(
           "Give up connecting after this long (covers the TCP connection, TLS and "
           "authentication). Default \"10s\".",
           "10s")},
  };
}

json object(json properties, std::initializer_list<std::string> required) {
  json j = {{"type", "object"}, {"additionalProperties", false}, {"properties", properties}};
  if (required.size() > 0) j["required"] = json(required);
  return j;
}

json merge(json base, const json& extra) {
  for (const auto& [k, v] : extra.items()) base[k] = v;
  return base;
}

}  // namespace backup_doctor::pg::schema
