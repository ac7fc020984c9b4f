// Renders a finished run for people (text), programs (json), CI (junit), monitoring
// (prometheus textfile) and Nagios-style checkers (nagios). Each format is one file here.
#pragma once

#include "result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backup_doctor {

enum class Format { text, json, junit, prometheus, nagios };

// A plugin file the registry would not load (PluginRegistry::refused()), as a reporter shows it.
struct RefusedPluginNote {
  std::string file;
  std::string reason;
};

std::optional<Format> format_from_string(const std::string& name);
std::vector<std::string> format_names();

struct RenderOptions {
  bool color = false;             // ANSI colours in text output
  bool verbose = false;           // text: show details of non-ok results, and ok summaries in full
  Status fail_on = Status::warn;  // `run --fail-on`: nagios prints the state the run exits with
  // text: grouped by backup set with consequences under their causes (`run --group set`), or
  // one flat list by status (`--group none`)
  bool group_by_set = true;
  // prometheus: one backup_doctor_plugin_refused sample each (docs/monitoring.md). Filled by
  // whoever loaded the plugins (`run`, `serve`); empty, the metric is not emitted.
  std::vector<RefusedPluginNote> refused_plugins;
};

std::string render_text(const RunReport& report, const RenderOptions& options);
std::string render_json(const RunReport& report);
std::string render_junit(const RunReport& report);
std::string render_prometheus(const RunReport& report, const RenderOptions& options = {});
std::string render_nagios(const RunReport& report, const RenderOptions& options = {});

std::string render(Format format, const RunReport& report, const RenderOptions& options);

// Writes `content` to `file` atomically (a temporary file in the same directory, renamed over
// it), so a node_exporter textfile collector never reads half a file. Returns an error text.
std::string write_file_atomically(const std::filesystem::path& file, const std::string& content);

}  // namespace backup_doctor
