// pg.privileges: does the backup role hold everything pg_dump needs in this database?
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <map>

namespace backup_doctor::pg {

namespace {

// A text[] literal for a query parameter.
std::optional<std::string> text_array(const nlohmann::json& list) {
  if (!list.is_array()) return std::nullopt;
  std::string out = "{";
  for (const auto& item : list) {
    if (out.size() > 1) out += ",";
    out += "\"";
    for (char c : item.get<std::string>()) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

struct Relation {
  std::string schema, name, qname, schema_ident;
  bool sequence = false;
};

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  std::string role = params.value("role", std::string());
  size_t max_items = params.value("max_items", 20);
  bool check_rls = params.value("check_rls", true);

  ConnectResult c = connect(cp, [&r] { return r.cancelled(); });
  if (!c.conn) {
    bool own_connect =
        (role.empty() || role == cp.user) && c.failure.kind == FailureKind::no_connect_privilege;
    report_connect_failure(r, c.failure, own_connect ? sdk::Status::fail : sdk::Status::error);
    return;
  }
  Connection& conn = *c.conn;
  note_password_exposure(conn, r);

  QueryResult info = conn.query(
      "SELECT r.rolname, quote_ident(r.rolname) AS ident, r.rolsuper, r.rolbypassrls, "
      "CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_data') "
      "     THEN pg_has_role(r.oid, 'pg_read_all_data', 'USAGE') ELSE false END AS read_all_data, "
      "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_data') AS read_all_exists, "
      "has_database_privilege(r.oid, current_database(), 'CONNECT') AS can_connect, "
      "current_database() AS db, quote_ident(current_database()) AS db_ident "
      "FROM pg_roles r WHERE r.rolname = coalesce($1, current_user)",
      {role.empty() ? std::nullopt : std::optional<std::string>(role)});
  if (role.empty()) role = conn.user();
  if (info.rows.empty()) {
    r.fail("Role " + role + " does not exist",
           "Create it first: `CREATE ROLE " + sql_ident(role) + " LOGIN PASSWORD '<password>';`",
           {{"role", role}});
    return;
  }
  std::string ident = info.text(0, "ident");
  std::string db = info.text(0, "db"), db_ident = info.text(0, "db_ident");
  bool superuser = info.text(0, "rolsuper") == "t";
  bool bypass_rls = info.text(0, "rolbypassrls") == "t";
  bool read_all = info.text(0, "read_all_data") == "t";
  bool read_all_exists = info.text(0, "read_all_exists") == "t";
  bool can_connect = info.text(0, "can_connect") == "t";

  nlohmann::json details = {{"role", role},
                            {"dbname", db},
                            {"superuser", superuser},
                            {"pg_read_all_data", read_all},
                            {"bypass_rls", bypass_rls},
                            {"connect", can_connect}};
  if (superuser) {
    r.metric("pg_privileges_missing", 0, "count");
    r.ok("Role " + role + " is a superuser: it can dump all of " + db, details);
    return;
  }

  std::vector<std::string> grants;
  if (!can_connect)
    grants.push_back("GRANT CONNECT ON DATABASE " + db_ident + " TO " + ident + ";");

  auto schemas_param = text_array(params.value("schemas", nlohmann::json()));
  auto exclude_param = text_array(params.value("exclude_schemas", nlohmann::json::array()));
  const char* schema_filter =
      "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
      "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND ($2::text[] IS NULL OR n.nspname = ANY($2)) "
      "AND NOT (n.nspname = ANY($3)) "
      "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass "
      "                AND d.objid = n.oid AND d.deptype = 'e') ";

  QueryResult schemas =
      conn.query(std::string("SELECT n.nspname, quote_ident(n.nspname) AS ident, "
                             "has_schema_privilege(r.oid, n.oid, 'USAGE') AS usage "
                             "FROM pg_namespace n, pg_roles r WHERE r.rolname = $1 AND ") +
                     schema_filter + "ORDER BY 1",
                 {role, schemas_param, exclude_param});
  QueryResult rels = conn.query(
      std::string("SELECT n.nspname, c.relname, quote_ident(n.nspname) AS schema_ident, "
                  "quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname, c.relkind, "
                  "CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r.oid, c.oid, 'SELECT') "
                  "     ELSE has_table_privilege(r.oid, c.oid, 'SELECT') END AS can_select, "
                  "c.relrowsecurity AND c.relowner <> r.oid AS rls "
                  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, pg_roles r "
                  "WHERE r.rolname = $1 AND c.relkind IN ('r', 'p', 'S') AND ") +
          schema_filter +
          "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
          "                AND d.objid = c.oid AND d.deptype = 'e') "
          "ORDER BY 1, 2",
      {role, schemas_param, exclude_param});

  nlohmann::json missing_usage = nlohmann::json::array();
  size_t missing_usage_count = 0;
  if (!read_all) {
    for (size_t i = 0; i < schemas.rows.size(); ++i) {
      if (schemas.text(i, "usage") == "t") continue;
      ++missing_usage_count;
      if (missing_usage.size() < max_items) missing_usage.push_back(schemas.text(i, "nspname"));
      grants.push_back("GRANT USAGE ON SCHEMA " + schemas.text(i, "ident") + " TO " + ident + ";");
    }
  }

  // Missing SELECTs, per schema and kind, so that a schema missing everything gets one
  // "ALL ... IN SCHEMA" statement instead of one per object.
  std::map<std::pair<std::string, bool>, std::vector<Relation>> missing_by_schema;
  std::map<std::pair<std::string, bool>, size_t> total_by_schema;
  nlohmann::json missing_tables = nlohmann::json::array(), missing_seqs = nlohmann::json::array(),
                 rls_tables = nlohmann::json::array();
  size_t n_tables = 0, n_seqs = 0, n_missing_tables = 0, n_missing_seqs = 0, n_rls = 0;
  for (size_t i = 0; i < rels.rows.size(); ++i) {
    Relation rel{rels.text(i, "nspname"), rels.text(i, "relname"), rels.text(i, "qname"),
                 rels.text(i, "schema_ident"), rels.text(i, "relkind") == "S"};
    (rel.sequence ? n_seqs : n_tables)++;
    auto key = std::make_pair(rel.schema_ident, rel.sequence);
    total_by_schema[key]++;
    if (check_rls && !bypass_rls && !rel.sequence && rels.text(i, "rls") == "t") {
      if (rls_tables.size() < max_items) rls_tables.push_back(rel.schema + "." + rel.name);
      ++n_rls;
    }
    if (read_all || rels.text(i, "can_select") == "t") continue;
    auto& list = rel.sequence ? missing_seqs : missing_tables;
    if (list.size() < max_items) list.push_back(rel.schema + "." + rel.name);
    (rel.sequence ? n_missing_seqs : n_missing_tables)++;
    missing_by_schema[key].push_back(rel);
  }
  for (const auto& [key, missing] : missing_by_schema) {
    const auto& [schema_ident, sequence] = key;
    const char* kind = sequence ? "SEQUENCES" : "TABLES";
    if (missing.size() == total_by_schema[key] || missing.size() > max_items) {
      grants.push_back(std::string("GRANT SELECT ON ALL ") + kind + " IN SCHEMA " + schema_ident +
                       " TO " + ident + ";");
    } else {
      for (const auto& rel : missing)
        grants.push_back(std::string("GRANT SELECT ON ") + (sequence ? "SEQUENCE " : "") +
                         rel.qname + " TO " + ident + ";");
    }
  }

  size_t total_missing =
      (can_connect ? 0 : 1) + missing_usage_count + n_missing_tables + n_missing_seqs + n_rls;
  details["schemas_checked"] = schemas.rows.size();
  details["tables_checked"] = n_tables;
  details["sequences_checked"] = n_seqs;
  details["missing_schema_usage"] = missing_usage;
  details["missing_schema_usage_count"] = missing_usage_count;
  details["missing_tables"] = missing_tables;
  details["missing_table_count"] = n_missing_tables;
  details["missing_sequences"] = missing_seqs;
  details["missing_sequence_count"] = n_missing_seqs;
  details["rls_tables"] = rls_tables;
  details["rls_table_count"] = n_rls;
  details["grants"] = grants;
  r.metric("pg_privileges_missing", static_cast<double>(total_missing), "count");

  if (total_missing == 0) {
    std::string how = read_all ? " (through pg_read_all_data)" : "";
    r.ok("Role " + role + " can dump " + db + how + ": CONNECT, USAGE on " +
             std::to_string(schemas.rows.size()) + " schemas, SELECT on " +
             std::to_string(n_tables) + " tables and " + std::to_string(n_seqs) + " sequences",
         details);
    return;
  }

  std::vector<std::string> parts;
  if (!can_connect) parts.push_back("CONNECT on the database");
  if (missing_usage_count)
    parts.push_back("USAGE on " + std::to_string(missing_usage_count) + " schema(s)");
  if (n_missing_tables)
    parts.push_back("SELECT on " + std::to_string(n_missing_tables) + " table(s)");
  if (n_missing_seqs)
    parts.push_back("SELECT on " + std::to_string(n_missing_seqs) + " sequence(s)");
  std::string summary = "Role " + role + " cannot dump " + db;
  if (!parts.empty()) {
    summary += ": missing ";
    for (size_t i = 0; i < parts.size(); ++i)
      summary += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  if (n_rls)
    summary += (parts.empty() ? ": " : "; ") + std::to_string(n_rls) +
               " table(s) with row-level security block it";

  std::string fix;
  if (!grants.empty()) {
    fix = "Connected to " + db + " as its owner or a superuser, run:";
    for (const auto& g : grants) fix += "\n  " + g;
  }
  if (n_rls) {
    fix += std::string(fix.empty() ? "" : "\n") +
           "pg_dump refuses tables with row-level security unless the role bypasses it; as a "
           "superuser run:\n  ALTER ROLE " +
           ident + " BYPASSRLS;";
  }
  if (read_all_exists && !read_all && (n_missing_tables || n_missing_seqs || missing_usage_count))
    fix += "\nOr, covering tables created later as well: GRANT pg_read_all_data TO " + ident + ";";
  r.fail(summary, fix, details);
}

}  // namespace

sdk::CheckType privileges_check() {
  using namespace schema;
  json props = connection_properties();
  props["role"] = string_prop(
      "The role whose privileges are checked. Default: the connecting user. Connecting as an "
      "administrator with `role` set also works when the backup role cannot even connect.");
  props["schemas"] = string_list_prop(
      "Only these schemas. Default: every schema except the system ones and those belonging to "
      "extensions.");
  props["exclude_schemas"] = string_list_prop("Schemas to leave out. Default: none.");
  props["check_rls"] = boolean_prop(
      "Also report tables with row-level security, which pg_dump refuses to dump unless the "
      "role has BYPASSRLS or owns them. Default true.",
      true);
  props["max_items"] = max_items_prop();
  return {.type = "pg.privileges",
          .summary = "The backup role holds what pg_dump needs: CONNECT, USAGE, SELECT",
          .doc =
              "Checks, for the connected database, what a dump by the role needs: CONNECT on the "
              "database, USAGE on every schema, SELECT on every table and sequence (or membership "
              "of pg_read_all_data on PostgreSQL 14+, which covers the last two and schema usage), "
              "and no row-level-security table it cannot bypass. Lists what is missing (first "
              "`max_items`, with counts) and the exact GRANT statements to run.\n\nMetric: "
              "`pg_privileges_missing` (count).",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
