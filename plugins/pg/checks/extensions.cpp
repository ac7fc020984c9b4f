// pg.extensions: the extensions a database uses, and whether a restore target has them.
#include "checks.hpp"
#include "connection.hpp"
#include "schema.hpp"
#include "secrets.hpp"

#include <map>
#include <set>
#include <sstream>

namespace backup_doctor::pg {

namespace {

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ",";
    out += "\"";
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

struct Ext {
  std::string name, version, schema;
};

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  size_t max_items = params.value("max_items", 20);
  std::vector<std::string> expect = params.value("expect", std::vector<std::string>{});

  auto conn = connect_or_report(cp, r);
  if (!conn) return;
  QueryResult q = conn->query(
      "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
      "JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1");
  std::vector<Ext> exts;
  std::set<std::string> names;
  nlohmann::json installed = nlohmann::json::array();
  for (size_t i = 0; i < q.rows.size(); ++i) {
    exts.push_back({q.text(i, "extname"), q.text(i, "extversion"), q.text(i, "nspname")});
    names.insert(exts.back().name);
    if (installed.size() < max_items)
      installed.push_back({{"name", exts.back().name},
                           {"version", exts.back().version},
                           {"schema", exts.back().schema}});
  }
  std::string db = conn->dbname();
  nlohmann::json details = {
      {"dbname", db}, {"installed", installed}, {"installed_count", exts.size()}};
  r.metric("pg_extensions_installed", static_cast<double>(exts.size()), "count");

  std::vector<std::string> not_installed;
  for (const auto& e : expect)
    if (!names.count(e)) not_installed.push_back(e);
  if (!not_installed.empty()) {
    details["expected_missing"] = not_installed;
    std::string fix = "In database " + db + ", as a role allowed to create them:";
    for (const auto& e : not_installed)
      fix += "\n  CREATE EXTENSION IF NOT EXISTS " + sql_ident(e) + ";";
    fix +=
        "\n(If CREATE EXTENSION says the control file is missing, install the server package "
        "that ships the extension first.)";
    std::string list;
    for (const auto& e : not_installed) list += (list.empty() ? "" : ", ") + e;
    r.fail(std::to_string(not_installed.size()) + " expected extension(s) not installed in " + db +
               ": " + list,
           fix, details);
    return;
  }

  if (!params.contains("target")) {
    std::string list;
    for (size_t i = 0; i < exts.size() && i < max_items; ++i)
      list += (list.empty() ? "" : ", ") + exts[i].name + " " + exts[i].version;
    r.ok(std::to_string(exts.size()) + " extension(s) in " + db + (list.empty() ? "" : ": " + list),
         details);
    return;
  }

  ConnParams tp = parse_connection(params["target"]);
  ConnectResult tc = connect(tp, [&r] { return r.cancelled(); });
  if (!tc.conn) {
    report_connect_failure(r, tc.failure, sdk::Status::error, "Restore target");
    return;
  }
  if (std::string why = password_exposure(*tc.conn); !why.empty()) {
    r.note("target_password_exposure", why + "; use sslmode verify-full with sslrootcert");
    r.info("note (restore target): " + why);
  }
  std::vector<std::string> wanted;
  for (const auto& e : exts) wanted.push_back(e.name);
  QueryResult avail = tc.conn->query(
      "SELECT a.name, coalesce(a.default_version, '') AS default_version, "
      "coalesce((SELECT string_agg(v.version, ',') FROM pg_available_extension_versions v "
      "          WHERE v.name = a.name), '') AS versions "
      "FROM pg_available_extensions a WHERE a.name = ANY($1::text[])",
      {text_array(wanted)});
  std::map<std::string, std::pair<std::string, std::set<std::string>>> target;
  for (size_t i = 0; i < avail.rows.size(); ++i) {
    std::set<std::string> versions;
    std::stringstream ss(avail.text(i, "versions"));
    for (std::string v; std::getline(ss, v, ',');) versions.insert(v);
    target[avail.text(i, "name")] = {avail.text(i, "default_version"), versions};
  }
  std::string target_where =
      tc.conn->host() + ":" + tc.conn->port() + " (PostgreSQL " + tc.conn->server_version() + ")";
  details["target"] = {{"host", tc.conn->host()},
                       {"port", tc.conn->port()},
                       {"server_version", tc.conn->server_version()}};

  nlohmann::json missing = nlohmann::json::array(), version_gaps = nlohmann::json::array();
  size_t n_missing = 0, n_gaps = 0;
  std::string missing_list, gap_fix;
  for (const auto& e : exts) {
    auto it = target.find(e.name);
    if (it == target.end()) {
      ++n_missing;
      if (missing.size() < max_items) {
        missing.push_back({{"name", e.name}, {"version", e.version}});
        missing_list += (missing_list.empty() ? "" : ", ") + e.name + " " + e.version;
      }
    } else if (!it->second.second.count(e.version)) {
      ++n_gaps;
      if (version_gaps.size() < max_items) {
        version_gaps.push_back({{"name", e.name},
                                {"version", e.version},
                                {"target_default_version", it->second.first}});
        gap_fix += "\n  " + e.name + ": source " + e.version + ", target offers " +
                   (it->second.first.empty() ? std::string("no default") : it->second.first);
      }
    }
  }
  details["missing_on_target"] = missing;
  details["missing_on_target_count"] = n_missing;
  details["version_unavailable_on_target"] = version_gaps;
  r.metric("pg_extensions_missing_on_target", static_cast<double>(n_missing), "count");

  if (n_missing > 0) {
    r.fail(std::to_string(n_missing) + " extension(s) used by " + db + " are not available on " +
               target_where + ": " + missing_list,
           "A restore there stops at CREATE EXTENSION ('could not open extension control file'). "
           "On the target server install the package that ships each one (on Debian: "
           "postgresql-<major>-<extension> for third-party ones such as postgis, the server "
           "package itself for contrib modules), then check with `SELECT name, default_version "
           "FROM pg_available_extensions WHERE name IN (...);` before restoring.",
           details);
  } else if (n_gaps > 0) {
    r.warn(std::to_string(n_gaps) + " extension(s) exist on " + target_where +
               " only in other versions",
           "The restore creates each extension at the target's default version, which may "
           "differ in behaviour or data format:" +
               gap_fix +
               "\nInstall the matching extension version on the target, or plan `ALTER "
               "EXTENSION ... UPDATE` after restoring and test the application against it.",
           details);
  } else {
    r.ok("All " + std::to_string(exts.size()) + " extension(s) of " + db + " are available on " +
             target_where,
         details);
  }
}

}  // namespace

sdk::CheckType extensions_check() {
  using namespace schema;
  json props = connection_properties();
  props["target"] = object(connection_properties());
  props["target"]["description"] =
      "A second server, the restore target: when given, every extension the database uses must "
      "be available there (pg_available_extensions), in the same version. Same connection "
      "parameters as the check itself. Default: no target, only list the extensions.";
  props["expect"] = string_list_prop(
      "Extensions that must be installed in the database (for example [\"uuid-ossp\", "
      "\"pg_stat_statements\"]). Default: none.");
  props["max_items"] = max_items_prop();
  return {.type = "pg.extensions",
          .summary = "Extensions the database uses, and whether a restore target has them",
          .doc =
              "Lists the extensions installed in the database (pg_extension). With `expect`, fails "
              "when one of those is not installed. With `target` (a second connection to the "
              "server a restore would go to), fails for each extension not available there and "
              "warns when only another version is: a restore otherwise stops at CREATE EXTENSION."
              "\n\nMetrics: `pg_extensions_installed`, `pg_extensions_missing_on_target` (count).",
          .params_schema = object(props),
          .run = &run};
}

}  // namespace backup_doctor::pg
