#include "plugin_loader.hpp"

#include <backup_doctor/system.hpp>

#include <backup_doctor/abi.hpp>

#include <backup_doctor/support/safe_open.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace backup_doctor {
namespace {

std::string abi_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// What an in-process call (create) left behind.
struct InProcessCall {
  std::string plugin;
  std::string error;
};

InProcessCall& of(bd_call* c) {
  return *reinterpret_cast<InProcessCall*>(c);
}

}  // namespace

const bd_host_api* in_process_host_api() {
  static const bd_host_api host = {
      .struct_size = sizeof(bd_host_api),
      .abi_major = BD_ABI_MAJOR,
      .abi_minor = BD_ABI_MINOR,
      .report = [](bd_call*, bd_status, bd_str, bd_str, bd_str) {},
      .metric = [](bd_call*, bd_str, double, bd_str, bd_str) {},
      .log =
          [](bd_call* c, int32_t level, bd_str message) {
            // The log sink masks secrets (logging.cpp); describe() runs before any is resolved.
            auto text = sdk::from_bd(message);
            auto lvl = level >= BD_LOG_ERROR  ? spdlog::level::err
                       : level == BD_LOG_WARN ? spdlog::level::warn
                       : level == BD_LOG_INFO ? spdlog::level::info
                                              : spdlog::level::debug;
            spdlog::log(lvl, "plugin {}: {}", of(c).plugin, text);
          },
      .progress = [](bd_call*, double, bd_str) {},
      .error = [](bd_call* c, bd_str message) { of(c).error = sdk::from_bd(message); },
      .cancelled = [](bd_call*) -> int32_t { return 0; },
  };
  return &host;
}

const CheckTypeInfo* LoadedPlugin::find(const std::string& type) const {
  for (const auto& c : checks)
    if (c.type == type) return &c;
  return nullptr;
}

int open_plugin_file(const std::filesystem::path& file, std::string& reason) {
  support::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    reason = errno == ELOOP ? "it is a symbolic link: plugins are loaded only from the file "
                              "itself (point the search path at the real directory)"
                            : std::string("cannot open the file: ") + sdk::errno_text(errno);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    reason = std::string("cannot stat the file: ") + sdk::errno_text(errno);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    reason = "not a regular file (a " + support::file_type_word(st.st_mode) + ")";
    return -1;
  }
  if (!support::trusted_owner(st.st_uid)) {
    reason = "owned by uid " + std::to_string(st.st_uid) +
             ", neither root nor the current user: loading it would run their code as us; "
             "chown it to root or to yourself";
    return -1;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    reason =
        "writable by its group or by everyone: loading it would run whoever changed it as "
        "us; run 'chmod go-w " +
        file.string() + "'";
    return -1;
  }
  std::string dir = file.has_parent_path() ? file.parent_path().string() : ".";
  if (std::string why = support::untrusted_path_reason(dir); !why.empty()) {
    reason = "its directory can be changed by someone else (" + why +
             "), who could swap the plugin for their own code: keep plugins in directories "
             "that only root (or you) can write";
    return -1;
  }
  return fd.release();
}

std::string unsafe_plugin_file_reason(const std::filesystem::path& file) {
  std::string reason;
  int fd = open_plugin_file(file, reason);
  if (fd >= 0) ::close(fd);
  return reason;
}

LoadOutcome load_plugin(const std::filesystem::path& file) {
  LoadOutcome out;
  std::string reason;
  support::UniqueFd fd(open_plugin_file(file, reason));
  if (!fd) {
    out.refusal = "refused: " + reason;
    return out;
  }

  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  // Local symbols, resolved now: a plugin never sees another plugin's symbols, and a missing
  // dependency fails here rather than in the middle of a check.
  // What was checked is what is loaded: the open descriptor, not the path again.
  const std::string via = "/proc/self/fd/" + std::to_string(fd.get());
  library->load(via, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !library->is_loaded()) {
    const char* why = dlerror();
    std::string text = why ? why : ec.message();
    for (size_t at = text.find(via); at != std::string::npos; at = text.find(via))
      text.replace(at, via.size(), file.string());
    out.refusal = "cannot be loaded: " + text;
    return out;
  }
  // The dynamic loader now knows a library by the name /proc/self/fd/N, and keeps it even after
  // dlclose() (C++ libraries are rarely unloaded): were N reused for the next plugin, dlopen
  // would hand back this one. So the descriptor stays open for the life of the process.
  (void)fd.release();
  if (!library->has(BD_PLUGIN_ENTRY_SYMBOL)) {
    out.refusal = std::string("not a backup-doctor plugin: it exports no '") +
                  BD_PLUGIN_ENTRY_SYMBOL + "' symbol";
    return out;
  }
  auto entry = library->get<const bd_plugin_api*()>(BD_PLUGIN_ENTRY_SYMBOL);
  const bd_plugin_api* api = entry();
  if (api == nullptr) {
    out.refusal = "its entry point returned no function table";
    return out;
  }
  if (api->abi_major != BD_ABI_MAJOR) {
    out.refusal = "built for plugin ABI " + abi_text(api->abi_major, api->abi_minor) +
                  ", but this backup-doctor speaks ABI " + abi_text(BD_ABI_MAJOR, BD_ABI_MINOR) +
                  " (the major versions must match); rebuild the plugin against this SDK";
    return out;
  }
  if (api->abi_minor > BD_ABI_MINOR) {
    out.refusal = "built for plugin ABI " + abi_text(api->abi_major, api->abi_minor) +
                  ", newer than this backup-doctor's ABI " + abi_text(BD_ABI_MAJOR, BD_ABI_MINOR) +
                  "; upgrade backup-doctor or rebuild the plugin against this SDK";
    return out;
  }
  // Every 1.0 slot must be inside the table the plugin declared, and set.
  constexpr size_t v1_0_size = offsetof(bd_plugin_api, run_check) + sizeof(api->run_check);
  if (api->struct_size < v1_0_size || !api->describe || !api->create || !api->destroy ||
      !api->run_check) {
    out.refusal = "its function table is incomplete (struct_size " +
                  std::to_string(api->struct_size) + ", a 1.0 table needs " +
                  std::to_string(v1_0_size) + " bytes with every slot set)";
    return out;
  }

  LoadedPlugin p;
  p.file = file;
  p.abi_major = api->abi_major;
  p.abi_minor = api->abi_minor;
  p.api = api;
  try {
    bd_str text = api->describe();
    auto desc = nlohmann::json::parse(std::string_view(text.data, text.size));
    p.name = desc.at("name").get<std::string>();
    p.version = desc.value("version", "");
    p.summary = desc.value("summary", "");
    if (desc.contains("error")) throw std::runtime_error(desc["error"].get<std::string>());
    for (const auto& c : desc.at("checks")) {
      CheckTypeInfo info{c.at("type").get<std::string>(), c.value("summary", ""),
                         c.value("doc", ""), c.value("params", nlohmann::json::object())};
      if (info.type.rfind(p.name + ".", 0) != 0)
        throw std::runtime_error("check type '" + info.type + "' does not start with '" + p.name +
                                 ".'");
      p.checks.push_back(std::move(info));
    }
  } catch (const std::exception& e) {
    out.refusal = std::string("its describe() output is not valid: ") + e.what();
    return out;
  }

  InProcessCall call{p.name, {}};
  bd_rc rc = api->create(in_process_host_api(), reinterpret_cast<bd_call*>(&call), &p.instance);
  if (rc != BD_RC_OK) {
    out.refusal =
        "create() failed: " + (call.error.empty() ? std::string("no reason given") : call.error);
    return out;
  }
  p.library = std::move(library);
  out.plugin = std::move(p);
  return out;
}

}  // namespace backup_doctor
