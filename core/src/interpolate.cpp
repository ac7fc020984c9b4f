#include "interpolate.hpp"

#include "json_text.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace backup_doctor {
namespace {

std::string as_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

const char* lookup_env(const InterpolationContext& ctx, const std::string& name) {
  return ctx.getenv ? ctx.getenv(name) : std::getenv(name.c_str());
}

bool is_secret_object(const nlohmann::json& v) {
  return v.is_object() && v.size() == 1 && v.contains("secret");
}

nlohmann::json resolve_secret(const nlohmann::json& spec, const InterpolationContext& ctx,
                              std::string& error, std::string& remedy) {
  const auto& s = spec["secret"];
  if (!s.is_object() || s.size() != 1 || !(s.contains("env") || s.contains("file")) ||
      !s.begin()->is_string()) {
    error = "a secret is {\"secret\": {\"env\": \"NAME\"}} or {\"secret\": {\"file\": \"/path\"}}";
    return nullptr;
  }
  if (!ctx.resolve_secrets) return kSecretPlaceholder;
  std::string value;
  if (s.contains("env")) {
    std::string name = s["env"].get<std::string>();
    const char* v = lookup_env(ctx, name);
    if (v == nullptr) {
      error = "secret environment variable " + name + " is not set; export it before the run";
      remedy = "Export " + name +
               " in the environment backup-doctor runs in (for a systemd unit, an "
               "EnvironmentFile= that only root can read), or read the secret from a file with "
               "{\"secret\": {\"file\": \"/etc/backup-doctor/" +
               name + "\"}}.";
      return nullptr;
    }
    value = v;
  } else {
    std::string file = s["file"].get<std::string>();
    std::string read_error;
    auto text = read_text_file(file, read_error);
    if (!text) {
      error = "cannot read the secret file: " + read_error;
      remedy = "Create " + file +
               " holding only the secret, owned by root and readable by root alone (chmod 600), "
               "in a directory only root can change.";
      return nullptr;
    }
    value = std::move(*text);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  }
  if (ctx.scrubber) ctx.scrubber->add(value);
  return value;
}

}  // namespace

nlohmann::json interpolate_string(const std::string& text, const InterpolationContext& ctx,
                                  std::string& error) {
  // The whole string is one variable: keep its JSON type (numbers stay numbers).
  if (text.size() > 3 && text.rfind("${", 0) == 0 && text.back() == '}' &&
      text.find('}') == text.size() - 1 && text.find("env:") != 2) {
    std::string name = text.substr(2, text.size() - 3);
    if (ctx.vars && ctx.vars->contains(name)) return (*ctx.vars)[name];
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {  // escaped: a literal "${"
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t end = text.find('}', i + 2);
    if (end == std::string::npos) {
      error = "unterminated '${' in \"" + text + "\" (write '$${' for a literal '${')";
      return nullptr;
    }
    std::string name = text.substr(i + 2, end - i - 2);
    if (name.rfind("env:", 0) == 0) {
      std::string env = name.substr(4);
      const char* v = lookup_env(ctx, env);
      if (v == nullptr) {
        error = "environment variable " + env + " (used as ${env:" + env +
                "}) is not set; export it or give a value with --var";
        return nullptr;
      }
      if (ctx.scrubber && ctx.secret_env && ctx.secret_env->count(env)) ctx.scrubber->add(v);
      out += v;
    } else if (ctx.vars && ctx.vars->contains(name)) {
      out += as_text((*ctx.vars)[name]);
    } else {
      error = "unknown variable ${" + name +
              "}; define it under \"vars\", in the profile, or with --var " + name + "=VALUE";
      return nullptr;
    }
    i = end + 1;
  }
  return out;
}

void collect_variable_refs(const nlohmann::json& value, std::set<std::string>& names) {
  if (value.is_structured()) {
    for (const auto& item : value) collect_variable_refs(item, names);
    return;
  }
  if (!value.is_string()) return;
  const auto& text = value.get_ref<const std::string&>();
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) continue;
    size_t end = text.find('}', i + 2);
    if (end == std::string::npos) return;
    std::string name = text.substr(i + 2, end - i - 2);
    if (name.rfind("env:", 0) != 0) names.insert(name);
    i = end;
  }
}

void collect_secret_env(const nlohmann::json& value, std::set<std::string>& names) {
  if (is_secret_object(value) && value["secret"].is_object() && value["secret"].contains("env") &&
      value["secret"]["env"].is_string())
    names.insert(value["secret"]["env"].get<std::string>());
  if (value.is_structured())
    for (const auto& item : value) collect_secret_env(item, names);
}

nlohmann::json interpolate(const nlohmann::json& value, const InterpolationContext& ctx,
                           std::vector<InterpolationError>& errors) {
  std::vector<std::string> path;
  std::function<nlohmann::json(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (v.is_string()) {
      std::string error;
      auto out = interpolate_string(v.get<std::string>(), ctx, error);
      if (!error.empty()) errors.push_back({path, error, {}});
      return out;
    }
    if (is_secret_object(v)) {
      std::string error, remedy;
      auto out = resolve_secret(v, ctx, error, remedy);
      if (!error.empty()) errors.push_back({path, error, remedy});
      return out;
    }
    if (v.is_array()) {
      nlohmann::json out = nlohmann::json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        path.push_back(std::to_string(i));
        out.push_back(walk(v[i]));
        path.pop_back();
      }
      return out;
    }
    if (v.is_object()) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [k, item] : v.items()) {
        path.push_back(k);
        out[k] = walk(item);
        path.pop_back();
      }
      return out;
    }
    return v;
  };
  return walk(value);
}

}  // namespace backup_doctor
