#include "denial_hints.hpp"

#include <backup_doctor/text.hpp>

#include <filesystem>
#include <map>

namespace backup_doctor::selinux {

using sdk::shell_quote;

std::string allow_rule(const std::string& source_type, const std::string& target_type,
                       const std::string& tclass, const std::set<std::string>& permissions) {
  std::string perms;
  for (const auto& p : permissions) perms += (perms.empty() ? "" : " ") + p;
  if (permissions.size() > 1) perms = "{ " + perms + " }";
  return "allow " + source_type + " " + target_type + ":" + tclass + " " + perms + ";";
}

bool is_generic_file_type(const std::string& type) {
  static const std::set<std::string> generic = {
      "default_t",   "unlabeled_t",     "file_t",       "tmp_t",  "user_tmp_t",
      "user_home_t", "user_home_dir_t", "admin_home_t", "var_t",  "usr_t",
      "etc_t",       "home_root_t",     "mnt_t",        "root_t", "tmpfs_t"};
  return generic.count(type) > 0;
}

bool is_file_class(const std::string& tclass) {
  return tclass == "file" || tclass == "dir" || tclass == "lnk_file" || tclass == "sock_file" ||
         tclass == "fifo_file";
}

std::string data_type_for_domain(const std::string& domain) {
  static const std::map<std::string, std::string> types = {
      {"postgresql_t", "postgresql_db_t"}, {"rsync_t", "rsync_data_t"},
      {"mysqld_t", "mysqld_db_t"},         {"httpd_t", "httpd_sys_rw_content_t"},
      {"smbd_t", "samba_share_t"},         {"ftpd_t", "public_content_rw_t"},
      {"named_t", "named_cache_t"},        {"mongod_t", "mongod_var_lib_t"},
      {"redis_t", "redis_var_lib_t"},      {"amanda_t", "amanda_data_t"},
      {"bacula_t", "bacula_store_t"}};
  auto it = types.find(domain);
  return it == types.end() ? std::string() : it->second;
}

std::string relabel_root(const std::string& path, const std::string& tclass) {
  if (path.empty() || path[0] != '/') return {};
  if (tclass == "dir") return path;
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "/" : parent;
}

std::string policy_hint(const std::string& source_type, const std::string& target_type,
                        const std::string& tclass, const std::set<std::string>& permissions,
                        const std::string& example_path) {
  std::string rule = allow_rule(source_type, target_type, tclass, permissions);
  std::string root = relabel_root(example_path, tclass);
  if (is_generic_file_type(target_type) && is_file_class(tclass) && !root.empty()) {
    std::string type = data_type_for_domain(source_type);
    std::string type_text = type.empty() ? "<type>" : type;
    std::string line = "relabel " + root + ": it has the generic type " + target_type + ", which " +
                       source_type + " may not use; `semanage fcontext -a -t " + type_text + " " +
                       shell_quote(root + "(/.*)?") + " && restorecon -Rv " + shell_quote(root) +
                       "`";
    if (type.empty())
      line += " with a type " + source_type + " may " + *permissions.begin() +
              " (list them with `sesearch -A -s " + source_type + " -c " + tclass + " -p " +
              *permissions.begin() + "`)";
    return line;
  }
  return "if this access is intended, look for a boolean first (`audit2why` on the record, "
         "`getsebool -a`), else grant it in a local module after review: `" +
         rule + "`";
}

}  // namespace backup_doctor::selinux
