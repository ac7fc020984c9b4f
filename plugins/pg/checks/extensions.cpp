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

// The extensions installed in the checked database.
struct Installed {
  std::vector<Ext> exts;
  std::set<std::string> names;
  nlohmann::json shown = nlohmann::json::array();  // the first max_items, for the details
};

Installed read_installed(Connection& conn, size_t max_items) {
  QueryResult q = conn.query(
      "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
      "JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1");
  Installed in;
  for (size_t i = 0; i < q.rows.size(); ++i) {
    in.exts.push_back({q.text(i, "extname"), q.text(i, "extversion"), q.text(i, "nspname")});
    in.names.insert(in.exts.back().name);
    if (in.shown.size() < max_items)
      in.shown.push_back({{"name", in.exts.back().name},
                          {"version", in.exts.back().version},
                          {"schema", in.exts.back().schema}});
  }
  return in;
}

// Extensions the checklist expects that the database lacks: reports and returns true if any.
bool report_expected_missing(const std::vector<std::string>& expect, const Installed& in,
                             const std::string& db, nlohmann::json& details, sdk::Context& r) {
  std::vector<std::string> not_installed;
  for (const auto& e : expect)
    if (!in.names.count(e)) not_installed.push_back(e);
  if (not_installed.empty()) return false;
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
  return true;
}

void report_installed(const Installed& in, const std::string& db, size_t max_items,
                      const nlohmann::json& details, sdk::Context& r) {
  std::string list;
  for (size_t i = 0; i < in.exts.size() && i < max_items; ++i)
    list += (list.empty() ? "" : ", ") + in.exts[i].name + " " + in.exts[i].version;
  r.ok(
      std::to_string(in.exts.size()) + " extension(s) in " + db + (list.empty() ? "" : ": " + list),
      details);
}

// What the restore target offers of each wanted extension: its default version and all versions.
using TargetOffers = std::map<std::string, std::pair<std::string, std::set<std::string>>>;

TargetOffers read_target_offers(Connection& target, const std::vector<Ext>& exts) {
  std::vector<std::string> wanted;
  for (const auto& e : exts) wanted.push_back(e.name);
  QueryResult avail = target.query(
      "SELECT a.name, coalesce(a.default_version, '') AS default_version, "
      "coalesce((SELECT string_agg(v.version, ',') FROM pg_available_extension_versions v "
      "          WHERE v.name = a.name), '') AS versions "
      "FROM pg_available_extensions a WHERE a.name = ANY($1::text[])",
      {text_array(wanted)});
  TargetOffers offers;
  for (size_t i = 0; i < avail.rows.size(); ++i) {
    std::set<std::string> versions;
    std::stringstream ss(avail.text(i, "versions"));
    for (std::string v; std::getline(ss, v, ',');) versions.insert(v);
    offers[avail.text(i, "name")] = {avail.text(i, "default_version"), versions};
  }
  return offers;
}

// Extensions the target lacks altogether, and those it has only in other versions.
struct TargetGaps {
  nlohmann::json missing = nlohmann::json::array(), version_gaps = nlohmann::json::array();
  size_t n_missing = 0, n_gaps = 0;
  std::string missing_list, gap_fix;
};

TargetGaps compare_offers(const std::vector<Ext>& exts, const TargetOffers& target,
                          size_t max_items) {
  TargetGaps g;
  for (const auto& e : exts) {
    auto it = target.find(e.name);
    if (it == target.end()) {
      ++g.n_missing;
      if (g.missing.size() < max_items) {
        g.missing.push_back({{"name", e.name}, {"version", e.version}});
        g.missing_list += (g.missing_list.empty() ? "" : ", ") + e.name + " " + e.version;
      }
    } else if (!it->second.second.count(e.version)) {
      ++g.n_gaps;
      if (g.version_gaps.size() < max_items) {
        g.version_gaps.push_back({{"name", e.name},
                                  {"version", e.version},
                                  {"target_default_version", it->second.first}});
        g.gap_fix += "\n  " + e.name + ": source " + e.version + ", target offers " +
                     (it->second.first.empty() ? std::string("no default") : it->second.first);
      }
    }
  }
  return g;
}

void report_target_gaps(const TargetGaps& g, size_t n_exts, const std::string& db,
                        const std::string& target_where, const nlohmann::json& details,
                        sdk::Context& r) {
  if (g.n_missing > 0) {
    r.fail(std::to_string(g.n_missing) + " extension(s) used by " + db + " are not available on " +
               target_where + ": " + g.missing_list,
           "A restore there stops at CREATE EXTENSION ('could not open extension control file'). "
           "On the target server install the package that ships each one (on Debian: "
           "postgresql-<major>-<extension> for third-party ones such as postgis, the server "
           "package itself for contrib modules), then check with `SELECT name, default_version "
           "FROM pg_available_extensions WHERE name IN (...);` before restoring.",
           details);
  } else if (g.n_gaps > 0) {
    r.warn(std::to_string(g.n_gaps) + " extension(s) exist on " + target_where +
               " only in other versions",
           "The restore creates each extension at the target's default version, which may "
           "differ in behaviour or data format:" +
               g.gap_fix +
               "\nInstall the matching extension version on the target, or plan `ALTER "
               "EXTENSION ... UPDATE` after restoring and test the application against it.",
           details);
  } else {
    r.ok("All " + std::to_string(n_exts) + " extension(s) of " + db + " are available on " +
             target_where,
         details);
  }
}

// The "target" part of the check: can a restore there create every extension at its version?
void check_restore_target(const nlohmann::json& target_params, const Installed& in,
                          const std::string& db, size_t max_items, nlohmann::json& details,
                          sdk::Context& r) {
  ConnParams tp = parse_connection(target_params);
  ConnectResult tc = connect(tp, [&r] { return r.cancelled(); });
  if (!tc.conn) {
    report_connect_failure(r, tc.failure, sdk::Status::error, "Restore target");
    return;
  }
  if (std::string why = password_exposure(*tc.conn); !why.empty()) {
    r.note("target_password_exposure", why + "; use sslmode verify-full with sslrootcert");
    r.info("note (restore target): " + why);
  }
  TargetOffers offers = read_target_offers(*tc.conn, in.exts);
  std::string target_where =
      tc.conn->host() + ":" + tc.conn->port() + " (PostgreSQL " + tc.conn->server_version() + ")";
  details["target"] = {{"host", tc.conn->host()},
                       {"port", tc.conn->port()},
                       {"server_version", tc.conn->server_version()}};

  TargetGaps g = compare_offers(in.exts, offers, max_items);
  details["missing_on_target"] = g.missing;
  details["missing_on_target_count"] = g.n_missing;
  details["version_unavailable_on_target"] = g.version_gaps;
  r.metric("pg_extensions_missing_on_target", static_cast<double>(g.n_missing), "count");
  report_target_gaps(g, in.exts.size(), db, target_where, details, r);
}

void run(const nlohmann::json& params, sdk::Context& r) {
  ConnParams cp = parse_connection(params);
  size_t max_items = params.value("max_items", 20);
  std::vector<std::string> expect = params.value("expect", std::vector<std::string>{});

  auto conn = connect_or_report(cp, r);
  if (!conn) return;
  Installed in = read_installed(*conn, max_items);
  std::string db = conn->dbname();
  nlohmann::json details = {
      {"dbname", db}, {"installed", in.shown}, {"installed_count", in.exts.size()}};
  r.metric("pg_extensions_installed", static_cast<double>(in.exts.size()), "count");

  if (report_expected_missing(expect, in, db, details, r)) return;
  if (!params.contains("target")) {
    report_installed(in, db, max_items, details, r);
    return;
  }
  check_restore_target(params["target"], in, db, max_items, details, r);
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
