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
