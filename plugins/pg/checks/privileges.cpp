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

// The role being checked, as the server sees it in this database.
struct RoleInfo {
  std::string role, ident, db, db_ident;
  bool superuser = false, bypass_rls = false, read_all = false, read_all_exists = false,
       can_connect = false;
};

RoleInfo read_role_info(const QueryResult& info, const std::string& role) {
  RoleInfo ri;
  ri.role = role;
  ri.ident = info.text(0, "ident");
  ri.db = info.text(0, "db"), ri.db_ident = info.text(0, "db_ident");
  ri.superuser = info.text(0, "rolsuper") == "t";
  ri.bypass_rls = info.text(0, "rolbypassrls") == "t";
  ri.read_all = info.text(0, "read_all_data") == "t";
  ri.read_all_exists = info.text(0, "read_all_exists") == "t";
  ri.can_connect = info.text(0, "can_connect") == "t";
  return ri;
}

const char* const kSchemaFilter =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
    "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND ($2::text[] IS NULL OR n.nspname = ANY($2)) "
    "AND NOT (n.nspname = ANY($3)) "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass "
    "                AND d.objid = n.oid AND d.deptype = 'e') ";

QueryResult query_schemas(Connection& conn, const std::string& role,
                          const std::optional<std::string>& schemas_param,
                          const std::optional<std::string>& exclude_param) {
  return conn.query(std::string("SELECT n.nspname, quote_ident(n.nspname) AS ident, "
                                "has_schema_privilege(r.oid, n.oid, 'USAGE') AS usage "
                                "FROM pg_namespace n, pg_roles r WHERE r.rolname = $1 AND ") +
                        kSchemaFilter + "ORDER BY 1",
                    {role, schemas_param, exclude_param});
}

QueryResult query_relations(Connection& conn, const std::string& role,
                            const std::optional<std::string>& schemas_param,
                            const std::optional<std::string>& exclude_param) {
  return conn.query(
      std::string("SELECT n.nspname, c.relname, quote_ident(n.nspname) AS schema_ident, "
                  "quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname, c.relkind, "
                  "CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r.oid, c.oid, 'SELECT') "
                  "     ELSE has_table_privilege(r.oid, c.oid, 'SELECT') END AS can_select, "
                  "c.relrowsecurity AND c.relowner <> r.oid AS rls "
                  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, pg_roles r "
                  "WHERE r.rolname = $1 AND c.relkind IN ('r', 'p', 'S') AND ") +
          kSchemaFilter +
          "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
          "                AND d.objid = c.oid AND d.deptype = 'e') "
          "ORDER BY 1, 2",
      {role, schemas_param, exclude_param});
}

// Schemas without USAGE: appends their GRANTs, and returns how many there are.
size_t collect_missing_usage(const QueryResult& schemas, const RoleInfo& ri, size_t max_items,
                             nlohmann::json& missing_usage, std::vector<std::string>& grants) {
  size_t missing_usage_count = 0;
  if (ri.read_all) return missing_usage_count;
  for (size_t i = 0; i < schemas.rows.size(); ++i) {
    if (schemas.text(i, "usage") == "t") continue;
    ++missing_usage_count;
    if (missing_usage.size() < max_items) missing_usage.push_back(schemas.text(i, "nspname"));
    grants.push_back("GRANT USAGE ON SCHEMA " + schemas.text(i, "ident") + " TO " + ri.ident + ";");
  }
  return missing_usage_count;
}

// Missing SELECTs, per schema and kind, so that a schema missing everything gets one
// "ALL ... IN SCHEMA" statement instead of one per object.
struct RelationScan {
  std::map<std::pair<std::string, bool>, std::vector<Relation>> missing_by_schema;
  std::map<std::pair<std::string, bool>, size_t> total_by_schema;
  nlohmann::json missing_tables = nlohmann::json::array(), missing_seqs = nlohmann::json::array(),
                 rls_tables = nlohmann::json::array();
  size_t n_tables = 0, n_seqs = 0, n_missing_tables = 0, n_missing_seqs = 0, n_rls = 0;
};

RelationScan scan_relations(const QueryResult& rels, const RoleInfo& ri, bool check_rls,
                            size_t max_items) {
  RelationScan s;
  for (size_t i = 0; i < rels.rows.size(); ++i) {
    Relation rel{rels.text(i, "nspname"), rels.text(i, "relname"), rels.text(i, "qname"),
                 rels.text(i, "schema_ident"), rels.text(i, "relkind") == "S"};
    (rel.sequence ? s.n_seqs : s.n_tables)++;
    auto key = std::make_pair(rel.schema_ident, rel.sequence);
    s.total_by_schema[key]++;
    if (check_rls && !ri.bypass_rls && !rel.sequence && rels.text(i, "rls") == "t") {
      if (s.rls_tables.size() < max_items) s.rls_tables.push_back(rel.schema + "." + rel.name);
      ++s.n_rls;
    }
    if (ri.read_all || rels.text(i, "can_select") == "t") continue;
    auto& list = rel.sequence ? s.missing_seqs : s.missing_tables;
    if (list.size() < max_items) list.push_back(rel.schema + "." + rel.name);
    (rel.sequence ? s.n_missing_seqs : s.n_missing_tables)++;
    s.missing_by_schema[key].push_back(rel);
  }
  return s;
}

void add_select_grants(RelationScan& s, const std::string& ident, size_t max_items,
                       std::vector<std::string>& grants) {
  for (const auto& [key, missing] : s.missing_by_schema) {
    const auto& [schema_ident, sequence] = key;
    const char* kind = sequence ? "SEQUENCES" : "TABLES";
    if (missing.size() == s.total_by_schema[key] || missing.size() > max_items) {
      grants.push_back(std::string("GRANT SELECT ON ALL ") + kind + " IN SCHEMA " + schema_ident +
                       " TO " + ident + ";");
    } else {
      for (const auto& rel : missing)
        grants.push_back(std::string("GRANT SELECT ON ") + (sequence ? "SEQUENCE " : "") +
                         rel.qname + " TO " + ident + ";");
    }
  }
}

std::string phrase_cannot_dump(const RoleInfo& ri, size_t missing_usage_count,
                               const RelationScan& s) {
  std::vector<std::string> parts;
  if (!ri.can_connect) parts.push_back("CONNECT on the database");
  if (missing_usage_count)
    parts.push_back("USAGE on " + std::to_string(missing_usage_count) + " schema(s)");
  if (s.n_missing_tables)
    parts.push_back("SELECT on " + std::to_string(s.n_missing_tables) + " table(s)");
  if (s.n_missing_seqs)
    parts.push_back("SELECT on " + std::to_string(s.n_missing_seqs) + " sequence(s)");
  std::string summary = "Role " + ri.role + " cannot dump " + ri.db;
  if (!parts.empty()) {
    summary += ": missing ";
    for (size_t i = 0; i < parts.size(); ++i)
      summary += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  if (s.n_rls)
    summary += (parts.empty() ? ": " : "; ") + std::to_string(s.n_rls) +
               " table(s) with row-level security block it";
  return summary;
}

std::string phrase_grant_fix(const RoleInfo& ri, size_t missing_usage_count, const RelationScan& s,
                             const std::vector<std::string>& grants) {
  std::string fix;
  if (!grants.empty()) {
    fix = "Connected to " + ri.db + " as its owner or a superuser, run:";
    for (const auto& g : grants) fix += "\n  " + g;
  }
  if (s.n_rls) {
    fix += std::string(fix.empty() ? "" : "\n") +
           "pg_dump refuses tables with row-level security unless the role bypasses it; as a "
           "superuser run:\n  ALTER ROLE " +
           ri.ident + " BYPASSRLS;";
  }
  if (ri.read_all_exists && !ri.read_all &&
      (s.n_missing_tables || s.n_missing_seqs || missing_usage_count))
    fix +=
        "\nOr, covering tables created later as well: GRANT pg_read_all_data TO " + ri.ident + ";";
  return fix;
}

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
  RoleInfo ri = read_role_info(info, role);

  nlohmann::json details = {{"role", role},
                            {"dbname", ri.db},
                            {"superuser", ri.superuser},
                            {"pg_read_all_data", ri.read_all},
                            {"bypass_rls", ri.bypass_rls},
                            {"connect", ri.can_connect}};
  if (ri.superuser) {
    r.metric("pg_privileges_missing", 0, "count");
    r.ok("Role " + role + " is a superuser: it can dump all of " + ri.db, details);
    return;
  }

  std::vector<std::string> grants;
  if (!ri.can_connect)
    grants.push_back("GRANT CONNECT ON DATABASE " + ri.db_ident + " TO " + ri.ident + ";");

  auto schemas_param = text_array(params.value("schemas", nlohmann::json()));
  auto exclude_param = text_array(params.value("exclude_schemas", nlohmann::json::array()));
  QueryResult schemas = query_schemas(conn, role, schemas_param, exclude_param);
  QueryResult rels = query_relations(conn, role, schemas_param, exclude_param);

  nlohmann::json missing_usage = nlohmann::json::array();
  size_t missing_usage_count = collect_missing_usage(schemas, ri, max_items, missing_usage, grants);
  RelationScan s = scan_relations(rels, ri, check_rls, max_items);
  add_select_grants(s, ri.ident, max_items, grants);

  size_t total_missing = (ri.can_connect ? 0 : 1) + missing_usage_count + s.n_missing_tables +
                         s.n_missing_seqs + s.n_rls;
  details["schemas_checked"] = schemas.rows.size();
  details["tables_checked"] = s.n_tables;
  details["sequences_checked"] = s.n_seqs;
  details["missing_schema_usage"] = missing_usage;
  details["missing_schema_usage_count"] = missing_usage_count;
  details["missing_tables"] = s.missing_tables;
  details["missing_table_count"] = s.n_missing_tables;
  details["missing_sequences"] = s.missing_seqs;
  details["missing_sequence_count"] = s.n_missing_seqs;
  details["rls_tables"] = s.rls_tables;
  details["rls_table_count"] = s.n_rls;
  details["grants"] = grants;
  r.metric("pg_privileges_missing", static_cast<double>(total_missing), "count");

  if (total_missing == 0) {
    std::string how = ri.read_all ? " (through pg_read_all_data)" : "";
    r.ok("Role " + role + " can dump " + ri.db + how + ": CONNECT, USAGE on " +
             std::to_string(schemas.rows.size()) + " schemas, SELECT on " +
             std::to_string(s.n_tables) + " tables and " + std::to_string(s.n_seqs) + " sequences",
         details);
    return;
  }
  r.fail(phrase_cannot_dump(ri, missing_usage_count, s),
         phrase_grant_fix(ri, missing_usage_count, s, grants), details);
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
