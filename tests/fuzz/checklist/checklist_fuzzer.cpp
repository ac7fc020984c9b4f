// The checklist loader, validation against every plugin's parameter schemas, profiles and
// interpolation of ${var} and ${env:NAME}: all of it sees text an operator (or an attacker who
// can write the checklist) wrote.
#include <cstddef>
#include <cstdint>
#include <string>

#include "checklist.hpp"
#include "plan.hpp"
#include "plugin_registry.hpp"
#include "scrubber.hpp"

namespace {

const backup_doctor::PluginRegistry& registry() {
  static const auto loaded =
      backup_doctor::PluginRegistry::load({std::filesystem::path(BD_PLUGIN_DIR)});
  return loaded;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)registry();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backup_doctor;
  std::string text(reinterpret_cast<const char*>(data), size);
  ChecklistLoad load = load_checklist_text(text, "fuzz.json");
  if (!load.checklist) return 0;
  Scrubber scrubber;
  for (const std::string profile : {"", "production"}) {
    PlanOptions options;
    options.profile = profile;
    options.resolve_secrets = false;  // never read the environment's secrets
    options.vars = {{"backup_dir", "/var/backups"}};
    (void)make_plan(*load.checklist, registry(), options, scrubber);
  }
  return 0;
}
