// What `backup-doctor plugins` and `backup-doctor describe` print, built from the plugins'
// own describe() output, so the reference docs (docs/checks.md) can never drift from the code.
#pragma once

#include "plugin_registry.hpp"

#include <string>

namespace backup_doctor {

std::string plugins_text(const PluginRegistry& registry);
std::string plugins_json(const PluginRegistry& registry);

std::string describe_text(const LoadedPlugin& plugin, const CheckTypeInfo& check);
std::string describe_json(const LoadedPlugin& plugin, const CheckTypeInfo& check);
// One check type's section of the reference: documentation, then a table of its parameters
// (nested ones with dotted names: "restore.jobs", "restore.queries[].sql").
std::string describe_markdown(const CheckTypeInfo& check);
// The whole reference as Markdown (docs/checks.md).
std::string describe_all_markdown(const PluginRegistry& registry);

}  // namespace backup_doctor
