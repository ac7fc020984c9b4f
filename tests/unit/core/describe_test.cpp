#include "describe.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {
const PluginRegistry& registry() {
  static PluginRegistry reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR, BD_FIXTURE_BAD_DIR});
  return reg;
}
}  // namespace

TEST_CASE("plugins lists name, version, ABI, file, check types and refusals") {
  auto text = plugins_text(registry());
  CHECK(text.find("fixture 1.2.3  (ABI 1.0)") != std::string::npos);
  CHECK(text.find("    fixture.crash  Dereferences a null pointer") != std::string::npos);
  CHECK(text.find("refused ") != std::string::npos);
  auto j = nlohmann::json::parse(plugins_json(registry()));
  CHECK(j["plugins"].size() == 2);
  CHECK(j["refused"].size() == 4);
}

TEST_CASE("describe shows documentation and parameters from the schema") {
  const auto* p = registry().plugin_for("fixture.status");
  auto text = describe_text(*p, *p->find("fixture.status"));
  CHECK(text.find("fixture.status - Reports the status it is given") == 0);
  CHECK(
      text.find("  status (one of \"ok\", \"warn\", \"fail\", \"error\", \"skipped\", required)") !=
      std::string::npos);
  CHECK(text.find("  sleep_ms (integer)") != std::string::npos);
}

TEST_CASE("the markdown reference has a section and a parameter table per check type") {
  auto md = describe_all_markdown(registry());
  CHECK(md.find("## Plugin `fixture` 1.2.3") != std::string::npos);
  CHECK(md.find("### `fixture.status`") != std::string::npos);
  CHECK(md.find("| `status` | one of \"ok\", \"warn\", \"fail\", \"error\", \"skipped\" | yes |") !=
        std::string::npos);
}

namespace {
// Shaped like pg.dump_verify's: an object parameter with its own properties, and in it an array
// of objects.
CheckTypeInfo nested_check() {
  CheckTypeInfo c;
  c.type = "demo.nested";
  c.summary = "Has nested parameters";
  c.params_schema = nlohmann::json::parse(R"({
    "type": "object",
    "properties": {
      "path": {"type": "string", "description": "The dump."},
      "restore": {
        "type": "object", "description": "Deep mode.",
        "properties": {
          "jobs": {"type": "integer", "default": 1, "description": "Parallel jobs."},
          "port": {"type": ["integer", "string"], "description": "Server port."},
          "queries": {"type": "array", "description": "Queries.",
            "items": {"type": "object", "required": ["sql"],
              "properties": {"min": {"type": "number", "description": "Smallest."},
                             "sql": {"type": "string", "description": "The query."}}}}
        }
      },
      "tools": {"type": "array", "description": "Names or objects.",
        "items": {"anyOf": [{"type": "string"},
                            {"type": "object", "properties": {"name": {"type": "string"}}}]}}
    },
    "required": ["path"]
  })");
  return c;
}
}  // namespace

TEST_CASE("describe lists nested parameters with dotted names, after their parent") {
  LoadedPlugin plugin;
  plugin.name = "demo";
  plugin.version = "1.0";
  plugin.file = "/plugins/backup-doctor-demo.so";
  auto text = describe_text(plugin, nested_check());
  CHECK(text.substr(text.find("Parameters")) ==
        "Parameters (\"with\"):\n"
        "  path (string, required)\n"
        "      The dump.\n"
        "  restore (object)\n"
        "      Deep mode.\n"
        "  restore.jobs (integer, default 1)\n"
        "      Parallel jobs.\n"
        "  restore.port (integer|string)\n"
        "      Server port.\n"
        "  restore.queries (array of object)\n"
        "      Queries.\n"
        "  restore.queries[].sql (string, required in restore.queries[])\n"
        "      The query.\n"
        "  restore.queries[].min (number)\n"
        "      Smallest.\n"
        "  tools (array of string|object)\n"
        "      Names or objects.\n"
        "  tools[].name (string)\n");
}

TEST_CASE("the markdown reference has a row per nested parameter") {
  auto md = describe_markdown(nested_check());
  CHECK(md ==
        "### `demo.nested`\n\nHas nested parameters\n\n"
        "| parameter | type | required | default | description |\n|---|---|---|---|---|\n"
        "| `path` | string | yes |  | The dump. |\n"
        "| `restore` | object | no |  | Deep mode. |\n"
        "| `restore.jobs` | integer | no | `1` | Parallel jobs. |\n"
        "| `restore.port` | integer\\|string | no |  | Server port. |\n"
        "| `restore.queries` | array of object | no |  | Queries. |\n"
        "| `restore.queries[].sql` | string | yes, in `restore.queries[]` |  | The query. |\n"
        "| `restore.queries[].min` | number | no |  | Smallest. |\n"
        "| `tools` | array of string\\|object | no |  | Names or objects. |\n"
        "| `tools[].name` | string | no |  |  |\n\n");
}
